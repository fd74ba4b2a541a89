import { isTerminalRunStatus } from "../contract/runView.js";
import type { PipelineRun } from "../runner/PipelineRun.js";
import { QueueError } from "./QueueError.js";

interface Waiting {
  readonly run: PipelineRun;
  readonly start: () => void;
  readonly refuse: (reason: Error) => void;
}

/**
 * The server's run queue. An accepted run is recorded at once (status `queued`, its id in the
 * 201 reply) and waits here; at most `maxRunning` execute at a time, in arrival order. When
 * `maxQueued` runs are already waiting, a submission is refused with 429 and a Retry-After
 * estimated from how long recent runs took, so callers back off instead of the machine drowning
 * in processes. Runs started elsewhere (CLI, notebooks) do not count.
 */
export class RunQueue {
  private readonly waiting: Waiting[] = [];
  private readonly running = new Map<string, PipelineRun>();
  private creating = 0;
  /** Moving average of run durations once started (ms), for Retry-After. */
  private avgMs = 1000;
  private accepted = 0;
  private refused = 0;
  private closed = false;

  constructor(
    readonly maxRunning: number,
    readonly maxQueued: number,
  ) {
    for (const [limit, value] of [["maxRunning", maxRunning], ["maxQueued", maxQueued]] as const) {
      if (!(Number.isInteger(value) && value >= 1)) throw new QueueError({ reason: "limit-invalid", limit, value });
    }
  }

  /** Runs accepted and not finished: waiting, running, or being recorded. */
  get size(): number {
    return this.waiting.length + this.running.size + this.creating;
  }

  get stats(): { waiting: number; running: number; maxQueued: number; maxRunning: number; accepted: number; refused: number } {
    return { waiting: this.waiting.length + this.creating, running: this.running.size, maxQueued: this.maxQueued, maxRunning: this.maxRunning, accepted: this.accepted, refused: this.refused };
  }

  /** A run this server accepted and that has not finished. */
  get(runId: string): PipelineRun | undefined {
    return this.running.get(runId) ?? this.waiting.find((w) => w.run.id === runId)?.run;
  }

  /**
   * Takes a place (or throws a QueueError) and records the run through `create`, which must pass the
   * given `startWhen` to the run: the run starts when this queue lets it.
   */
  async submit(create: (startWhen: Promise<void>) => Promise<PipelineRun>): Promise<PipelineRun> {
    if (this.closed) throw new QueueError({ reason: "shutting-down" });
    if (this.waiting.length + this.creating >= this.maxQueued) {
      this.refused++;
      const perRun = this.avgMs / this.maxRunning;
      const retry = Math.max(1, Math.min(300, Math.ceil(((this.waiting.length + 1) * perRun) / 1000)));
      throw new QueueError({ reason: "full", waiting: this.waiting.length, running: this.running.size, retryAfterSeconds: retry });
    }
    let start!: () => void;
    let refuse!: (reason: Error) => void;
    const startWhen = new Promise<void>((resolve, reject) => {
      start = resolve;
      refuse = reject;
    });
    this.creating++;
    let run: PipelineRun;
    try {
      run = await create(startWhen);
    } catch (err) {
      refuse(new Error("not recorded"));
      throw err;
    } finally {
      this.creating--;
    }
    this.accepted++;
    const entry: Waiting = { run, start, refuse };
    let startedAt = 0;
    run.onEvent((e) => {
      if (e.type !== "run-status") return;
      if (e.status === "running") startedAt = Date.now();
      else if (isTerminalRunStatus(e.status)) this.finished(run.id, startedAt);
    });
    if (isTerminalRunStatus(run.status)) return run;
    this.waiting.push(entry);
    this.pump();
    return run;
  }

  /** Cancels a run of this queue: a waiting one never starts, a running one is stopped. */
  cancel(runId: string): boolean {
    const i = this.waiting.findIndex((w) => w.run.id === runId);
    if (i >= 0) {
      const [w] = this.waiting.splice(i, 1);
      w!.refuse(new Error("the run was canceled while queued"));
      return true;
    }
    const run = this.running.get(runId);
    run?.cancel();
    return run !== undefined;
  }

  /** Refuses every waiting run (they end canceled), cancels running ones, and waits for them. */
  async drain(): Promise<void> {
    this.closed = true;
    const all = [...this.waiting.map((w) => w.run), ...this.running.values()];
    for (const w of this.waiting.splice(0)) w.refuse(new Error("the pipebook server stopped before the run started; no step ran: submit it again"));
    for (const r of this.running.values()) r.cancel();
    await Promise.all(all.map((r) => r.waitForCompletion().catch(() => undefined)));
  }

  private finished(runId: string, startedAt: number): void {
    if (this.running.delete(runId)) {
      if (startedAt > 0) this.avgMs = this.avgMs * 0.8 + (Date.now() - startedAt) * 0.2;
      this.pump();
    }
  }

  private pump(): void {
    while (this.running.size < this.maxRunning && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      this.running.set(next.run.id, next.run);
      next.start();
    }
  }
}
