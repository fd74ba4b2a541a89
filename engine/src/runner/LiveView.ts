import { join } from "node:path";
import type { DataNodeView, MetricPoint, OutputView, RunView, StepStatus, StepView } from "../contract/runView.js";
import type { Workspace } from "../workspace/Workspace.js";
import { unreachable } from "../errors/PipebookError.js";
import { summarizeDecision } from "../explain/formatDecision.js";
import type { OutputRow, StepUpdate } from "../store/RunStore.js";
import { LOG_TAIL_BYTES, outputView, readTail, registeredDataNodes } from "./buildRunView.js";
import type { RunChange } from "./RunChange.js";

interface LiveStep {
  view: StepView;
  /** Outputs recorded but not yet turned into views (previews are read when a view is asked for). */
  pendingOutputs?: readonly OutputRow[];
  /** A reused step shows its origin's log and metrics, read once when a view is asked for. */
  originPending?: string;
  /**
   * Those reads while they run: a view asked for meanwhile waits for them, so it never goes out
   * without outputs that an earlier, still-reading view took off the pending list.
   */
  reading?: Promise<void>;
  metrics: Map<string, MetricPoint[]>;
  log: string;
}

/**
 * The run as this process knows it, reduced in memory from its changes: a view costs no store
 * reads however often it is asked for (every status change of a live graph), and it holds what
 * happened even while a full disk refuses writes. Other processes follow the run through the
 * store (buildRunView), which the recorder keeps in step.
 */
export class LiveView {
  private run: Omit<RunView, "steps">;
  private readonly steps = new Map<string, LiveStep>();
  /** Steps whose registered outputs were looked up, and what was found. */
  private readonly registeredRead = new Set<string>();
  private readonly registered: DataNodeView[] = [];

  /** Starts from the run as just recorded (all steps queued). */
  constructor(private readonly ws: Workspace, initial: RunView) {
    const { steps, ...run } = initial;
    this.run = run;
    for (const s of steps) this.steps.set(s.name, { view: s, metrics: new Map(), log: "" });
  }

  apply(c: RunChange): void {
    switch (c.type) {
      case "run":
        this.run = { ...this.run, status: c.status, ...(c.status !== "running" && c.status !== "queued" && { endedAt: c.at }), ...(c.error && { error: c.error }) };
        return;
      case "step": {
        const s = this.steps.get(c.step);
        if (!s) return;
        s.view = applyUpdate(s.view, c.update);
        if (c.outputs) s.pendingOutputs = c.outputs;
        if (c.update.reusedFrom) s.originPending = c.update.reusedFrom;
        return;
      }
      case "metrics": {
        const s = this.steps.get(c.step);
        if (!s) return;
        for (const m of c.rows) {
          const points = s.metrics.get(m.name) ?? [];
          points.push({ index: m.idx, value: m.value });
          s.metrics.set(m.name, points);
        }
        s.view = { ...s.view, metrics: [...s.metrics].map(([name, points]) => ({ name, points: [...points] })) };
        return;
      }
      case "log": {
        const s = this.steps.get(c.step);
        if (!s) return;
        // The same tail buildRunView reads from output.log: the last 4 KiB from a line start.
        s.log += c.text;
        if (Buffer.byteLength(s.log) > LOG_TAIL_BYTES) {
          const bytes = Buffer.from(s.log);
          const tail = bytes.subarray(bytes.length - LOG_TAIL_BYTES).toString("utf8");
          s.log = tail.slice(tail.indexOf("\n") + 1);
        }
        s.view = { ...s.view, logTail: s.log };
        return;
      }
      default:
        return unreachable(c);
    }
  }

  /** Each step's status now, read from memory alone (no output previews, no origin reads). */
  stepStatuses(): StepStatus[] {
    return [...this.steps.values()].map((s) => s.view.status);
  }

  /** The whole run now; reads only what it has not read before (output previews, a reused step's origin). */
  async view(): Promise<RunView> {
    for (const s of this.steps.values()) {
      if (s.pendingOutputs || s.originPending) s.reading = (s.reading ?? Promise.resolve()).catch(() => undefined).then(() => this.read(s));
      await s.reading;
    }
    const steps = [...this.steps.values()].map((s) => s.view);
    return { ...this.run, steps, ...this.dataNow(steps) };
  }

  /**
   * The data nodes now: the inputs known at submit, and the outputs registered so far (a step
   * registers its outputs before it is recorded complete, so one read per step that ended).
   */
  private dataNow(steps: readonly StepView[]): Pick<RunView, "data"> {
    const ended = steps.filter((s) => (s.status === "completed" || s.status === "reused") && !this.registeredRead.has(s.name));
    if (ended.length > 0) {
      for (const s of ended) this.registeredRead.add(s.name);
      const found = registeredDataNodes(this.ws, ended.map((s) => ({ id: s.stepRunId, name: s.name, reusedFrom: s.reusedFrom?.stepRunId ?? null })));
      this.registered.push(...found);
    }
    const data = [...(this.run.data ?? []).filter((d) => d.kind !== "registered"), ...this.registered];
    return data.length > 0 ? { data } : {};
  }

  private async read(s: LiveStep): Promise<void> {
    if (s.pendingOutputs) {
      const rows = s.pendingOutputs;
      s.pendingOutputs = undefined;
      const outputViews: OutputView[] = await Promise.all(rows.map(outputView));
      s.view = { ...s.view, outputViews };
    }
    if (s.originPending) {
      const origin = this.ws.runs.getStep(s.originPending);
      s.originPending = undefined;
      const metrics = new Map<string, MetricPoint[]>();
      for (const m of this.ws.runs.getMetrics(origin?.id ?? "")) {
        const points = metrics.get(m.name) ?? [];
        points.push({ index: m.idx, value: m.value });
        metrics.set(m.name, points);
      }
      const logTail = origin ? await readTail(join(origin.logDir, "output.log")) : undefined;
      s.view = { ...s.view, metrics: [...metrics].map(([name, points]) => ({ name, points })), ...(logTail && { logTail }) };
    }
  }
}

function applyUpdate(v: StepView, u: StepUpdate): StepView {
  const next: { -readonly [K in keyof StepView]: StepView[K] } = { ...v };
  if (u.status !== undefined) next.status = u.status;
  if (u.startedAt !== undefined) next.startedAt = u.startedAt;
  if (u.endedAt !== undefined) next.endedAt = u.endedAt;
  if (u.exitCode !== undefined) next.exitCode = u.exitCode;
  if (u.error !== undefined) next.error = u.error;
  if (u.decision !== undefined) {
    next.why = summarizeDecision(u.decision);
    if (u.decision.reason === "reused") next.reusedFrom = u.decision.from;
  }
  if (next.startedAt && next.endedAt) next.durationMs = Date.parse(next.endedAt) - Date.parse(next.startedAt);
  return next;
}
