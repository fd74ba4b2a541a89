import { setTimeout as delay } from "node:timers/promises";
import { RUN_HANDLE } from "../contract/runHandle.js";
import type { LogFrame } from "../contract/rest.js";
import { isTerminalRunStatus, type RunStatus, type RunView, type StepView } from "../contract/runView.js";
import type { PublishedPipeline } from "../publish/PublishedPipeline.js";
import type { RunEvent } from "../runner/RunEvent.js";
import { printEvent } from "../runner/printEvent.js";
import type { SubmittedRun } from "../runner/SubmittedRun.js";
import { RemoteError } from "./RemoteError.js";
import type { RemoteServer } from "./RemoteServer.js";
import type { UploadReport } from "./submitToServer.js";
import type { DownloadOutputsOptions, DownloadReport } from "../artifacts/outputDownload.js";
import { downloadRemoteOutputs } from "./downloadRemoteOutputs.js";

/** Reconnects to a run's feed after a dropped stream before giving up (the server is gone). */
const MAX_FEED_FAILURES = 8;

/**
 * A run that a `pipebook serve` executes, followed from here: its server-sent events feed
 * (`GET /runs/{id}/events?logs=1`, one RunView per change and the steps' log lines) drives
 * `onUpdate` — so a notebook's live display draws it as it draws a local run — and `onEvent`,
 * whose status events are read off the differences between consecutive views and whose log
 * events are the feed's log frames. A dropped feed is opened again, its log from where it was.
 */
export class RemoteRun implements SubmittedRun {
  readonly [RUN_HANDLE] = true;
  private latest: RunView;
  private readonly viewListeners = new Set<(v: RunView) => void>();
  private readonly eventListeners = new Set<(e: RunEvent) => void>();
  private readonly stop = new AbortController();
  private readonly finished: Promise<RunView>;
  /** The server sends every log line (`event: log`); else they are read off the views' tails. */
  private logFrames = false;
  /** The last log frame's id: where a reopened feed goes on. */
  private logPosition: string | undefined;
  /** The view whose differences from the next one are this run's status events. */
  private shown: RunView;

  constructor(
    private readonly server: RemoteServer,
    initial: RunView,
    /** What submitting it uploaded (undefined for a run followed, not submitted, from here). */
    readonly uploaded?: UploadReport,
  ) {
    this.latest = initial;
    // A run that had ended when it was handed over (a step of a few ms on a quick server ends
    // before its submit's reply is made) is told from its start all the same: its steps' ends and
    // its end as status events, its log lines from its feed.
    this.shown = isTerminalRunStatus(initial.status) ? { ...initial, status: "queued", steps: initial.steps.map((st) => ({ ...st, status: "queued" })) } : initial;
    this.finished = this.follow();
    this.finished.catch(() => undefined);
  }

  get id(): string {
    return this.latest.runId;
  }
  get experiment(): string {
    return this.latest.experiment;
  }
  get status(): RunStatus {
    return this.latest.status;
  }
  /** The server this run executes on. */
  get serverUrl(): string {
    return this.server.url;
  }

  view(): RunView {
    return this.latest;
  }

  async getSteps(): Promise<readonly StepView[]> {
    return this.latest.steps;
  }

  onUpdate(listener: (view: RunView) => void): () => void {
    this.viewListeners.add(listener);
    return () => this.viewListeners.delete(listener);
  }

  onEvent(listener: (e: RunEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Asks the server to cancel; the run ends `canceled` when its feed says so. */
  cancel(): void {
    void this.server.request("POST", `/runs/${encodeURIComponent(this.id)}/cancel`).catch(() => undefined);
  }

  async waitForCompletion(options: { showOutput?: boolean } = {}): Promise<RunView> {
    const off = options.showOutput ? this.onEvent((e) => printEvent(e, process.stdout)) : undefined;
    try {
      return await this.finished;
    } finally {
      off?.();
    }
  }

  publishPipeline(): Promise<PublishedPipeline> {
    return Promise.reject(this.server.localOnly(`publishing run ${this.id} from this process`));
  }

  /**
   * Downloads the run's outputs from the server to `dest/<step>/<output>/…`: the server lists each
   * output's files with their SHA-256 and only those not already here with the same content are
   * fetched, through its blob routes (checked by digest, resumed after a dropped connection from
   * the bytes already here in `<file>.<digest16>.part`).
   */
  downloadOutputs(dest: string, options: DownloadOutputsOptions = {}): Promise<DownloadReport> {
    return downloadRemoteOutputs(this.server, this.id, dest, options);
  }

  /** Stops following (the run goes on on the server). */
  detach(): void {
    this.stop.abort();
  }

  private async follow(): Promise<RunView> {
    let failures = 0;
    // The feed is read once even for a run that had ended: it sends the end and every log line.
    for (let first = true; first || !isTerminalRunStatus(this.latest.status); first = false) {
      let frames = 0;
      try {
        const res = await this.server.request("GET", `/runs/${encodeURIComponent(this.id)}/events?logs=1`, undefined, {
          signal: this.stop.signal,
          ...(this.logPosition !== undefined && { headers: { "Last-Event-ID": this.logPosition } }),
        });
        // A server that sends the log lines themselves: the views' tails are not read for them.
        this.logFrames ||= res.headers.get("X-Pipebook-Log-Frames") === "1";
        for await (const event of serverSentEvents(res)) {
          frames++;
          if (event.type === "log") this.log(event.frame, event.id);
          else this.apply(event.view);
        }
      } catch (err) {
        if (this.stop.signal.aborted) return this.latest;
        // A server at its limit of live streams (503) or unreachable for a moment: open the feed again.
        const transient = err instanceof RemoteError && (err.failure.reason === "unreachable" || (err.failure.reason === "refused" && err.failure.status === 503));
        if (err instanceof RemoteError && !transient) throw err;
      }
      if (isTerminalRunStatus(this.latest.status)) break;
      failures = frames > 0 ? 0 : failures + 1;
      if (failures > MAX_FEED_FAILURES) {
        throw new RemoteError({ reason: "unreachable", server: this.server.url, detail: `the live feed of run ${this.id} failed ${failures} times in a row` });
      }
      await delay(Math.min(100 * 2 ** failures, 3000));
    }
    return this.latest;
  }

  private log(frame: LogFrame, id: string | undefined): void {
    if (id !== undefined) this.logPosition = id;
    this.emit({ type: "step-log", runId: this.id, step: frame.step, stream: "stdout", text: frame.text });
  }

  private emit(e: RunEvent): void {
    for (const l of this.eventListeners) {
      try {
        l(e);
      } catch {
        // A listener's failure must not stop the feed.
      }
    }
  }

  private apply(view: RunView): void {
    const before = this.shown;
    this.latest = view;
    this.shown = view;
    for (const e of eventsBetween(before, view, !this.logFrames)) this.emit(e);
    for (const l of this.viewListeners) {
      try {
        l(view);
      } catch {
        // as above
      }
    }
  }
}

type FeedEvent = { readonly type: "view"; readonly view: RunView } | { readonly type: "log"; readonly frame: LogFrame; readonly id: string | undefined };

/** The events of an SSE reply (`event:`, `id:` and `data:` lines, a blank line after each): views, and log frames. */
async function* serverSentEvents(res: Response): AsyncGenerator<FeedEvent> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const lines = buffer.slice(0, end).split("\n");
      buffer = buffer.slice(end + 2);
      const field = (name: string): string[] => lines.filter((l) => l.startsWith(`${name}:`)).map((l) => l.slice(name.length + 1).trimStart());
      const data = field("data").join("\n");
      if (data === "") continue;
      if (field("event")[0] === "log") yield { type: "log", frame: JSON.parse(data) as LogFrame, id: field("id")[0] };
      else yield { type: "view", view: JSON.parse(data) as RunView };
    }
  }
}

/** What changed from one view to the next, as the events a local run would have sent. */
function eventsBetween(before: RunView, after: RunView, logsFromTails: boolean): RunEvent[] {
  const out: RunEvent[] = [];
  const runId = after.runId;
  const old = new Map(before.steps.map((s) => [s.name, s]));
  for (const s of after.steps) {
    const prev = old.get(s.name);
    const fresh = logsFromTails ? newLines(prev?.logTail ?? "", s.logTail ?? "") : "";
    if (fresh !== "") out.push({ type: "step-log", runId, step: s.name, stream: "stdout", text: fresh });
    if (prev?.status !== s.status && !(prev === undefined && s.status === "queued")) {
      const detail = s.error ?? s.why;
      out.push({ type: "step-status", runId, step: s.name, status: s.status, ...(detail !== undefined && { detail }), ...(s.durationMs !== undefined && { durationMs: s.durationMs }) });
    }
  }
  if (before.status !== after.status) out.push({ type: "run-status", runId, status: after.status, ...(after.error !== undefined && { error: after.error }) });
  return out;
}

/**
 * The lines of a log tail that were not in the previous tail: the longest run of the old tail's
 * last lines that starts the new one is what both show.
 */
function newLines(before: string, after: string): string {
  if (after === before || after === "") return "";
  const a = before.split("\n").filter((l, i, all) => l !== "" || i < all.length - 1);
  const b = after.split("\n").filter((l, i, all) => l !== "" || i < all.length - 1);
  for (let k = Math.min(a.length, b.length); k > 0; k--) {
    let same = true;
    for (let i = 0; i < k && same; i++) same = a[a.length - k + i] === b[i];
    if (same) return b.slice(k).map((l) => `${l}\n`).join("");
  }
  return b.map((l) => `${l}\n`).join("");
}
