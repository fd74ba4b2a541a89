import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { isTerminalRunStatus, isTerminalStepStatus, type ParameterValue, type RunStatus, type RunView, type StepStatus, type StepView } from "../contract/runView.js";
import type { Pipeline } from "../dsl/Pipeline.js";
import type { Workspace } from "../dsl/Workspace.js";
import { PipebookError } from "../errors/PipebookError.js";
import type { PipelineGraph } from "../graph/buildGraph.js";
import { buildRunView } from "./buildRunView.js";
import { readGitInfo } from "./readGitInfo.js";
import { notifySubmission } from "./observeSubmissions.js";
import { prepareStep, type PreparedStep } from "./prepareStep.js";
import { currentOwner } from "./processIdentity.js";
import { resolveParameters } from "./resolveParameters.js";
import type { RunEvent } from "./RunEvent.js";
import { runStep, type RunContext, type StepResult } from "./runStep.js";
import { printEvent } from "./printEvent.js";
import type { Decision } from "../explain/Decision.js";
import { summarizeDecision } from "../explain/formatDecision.js";
import { fromPipelineSpec, toPipelineSpec, type PipelineSpec } from "../spec/PipelineSpec.js";
import { PublishedPipeline, type PublishOptions } from "../publish/PublishedPipeline.js";
import { RecordedRun } from "../publish/RecordedRun.js";

export interface SubmitOptions {
  /** Run every step even when an identical earlier result exists. */
  readonly regenerateOutputs?: boolean;
  /** Values for the pipeline's parameters, checked against their types. */
  readonly parameterAssignments?: Readonly<Record<string, unknown>>;
  /** Steps running at once (default: the workspace's setting, else the machine's cores). */
  readonly concurrency?: number;
  /** Who submitted: recorded in the run history. */
  readonly source?: "sdk" | "cli" | "api" | "schedule" | "kernel";
  /**
   * Record the run now (status queued, id known) but start its steps only when this settles:
   * lets a server accept many runs and execute a few at a time. A rejection cancels the run.
   */
  readonly startWhen?: Promise<unknown>;
}

/** A startWhen that rejects while submit is still snapshotting is an answer (cancel), not an unhandled error. */
function markHandled(p: Promise<unknown> | undefined): void {
  p?.catch(() => undefined);
}

/**
 * Sortable and readable: the date and time, then 40 random bits (a server accepting hundreds of
 * runs a second must not draw the same id twice; createRun also retries on a collision).
 */
function newRunId(): string {
  const t = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${t}-${randomBytes(5).toString("hex")}`;
}

function isIdCollision(err: unknown): boolean {
  return err instanceof Error && (err as { code?: string }).code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/**
 * A submitted pipeline run. `submit` checks and snapshots everything, records the run and
 * returns at once; steps execute in the background in this process, in parallel where the
 * graph allows, and every change is written to the store before it is announced.
 */
export class PipelineRun {
  private readonly eventListeners = new Set<(e: RunEvent) => void>();
  private readonly viewListeners = new Set<(v: RunView) => void>();
  private readonly abort = new AbortController();
  private readonly finished: Promise<RunStatus>;
  private state: RunStatus = "queued";
  private viewTimer: NodeJS.Timeout | undefined;
  private viewDue = 0;
  private viewsAsked = 0;
  private viewsDelivered = 0;
  private outcome: { status: RunStatus; error?: string } | undefined;
  /** Final step states as this process decided them (the store may lag behind on a full disk). */
  private readonly stepOutcomes = new Map<string, { status: StepStatus; error?: string }>();

  private constructor(
    readonly workspace: Workspace,
    readonly id: string,
    readonly experiment: string,
    readonly parameters: Readonly<Record<string, ParameterValue>>,
    private readonly graph: PipelineGraph,
    private readonly prepared: readonly PreparedStep[],
    private readonly options: SubmitOptions,
  ) {
    this.finished = this.execute();
  }

  static async submit(experiment: string, pipeline: Pipeline, options: SubmitOptions = {}): Promise<PipelineRun> {
    markHandled(options.startWhen);
    const graph = pipeline.validate();
    // Parameters are checked before snapshotting: a typo should not cost a hash of the sources.
    const parameters = resolveParameters(pipeline.parameters, options.parameterAssignments);
    const prepared = await Promise.all(graph.steps.map((s) => prepareStep(pipeline.workspace, s)));
    return PipelineRun.start(experiment, pipeline, parameters, toPipelineSpec(pipeline, prepared), prepared, options);
  }

  /** Runs a stored pipeline spec again (a published pipeline, a REST call): code from its snapshots. */
  static async submitSpec(ws: Workspace, experiment: string, spec: PipelineSpec, options: SubmitOptions = {}): Promise<PipelineRun> {
    markHandled(options.startWhen);
    const { pipeline, prepared } = await fromPipelineSpec(ws, spec);
    const graph = pipeline.validate();
    const parameters = resolveParameters(pipeline.parameters, options.parameterAssignments);
    const byName = new Map(prepared.map((p) => [p.step.name, p]));
    return PipelineRun.start(experiment, pipeline, parameters, spec, graph.steps.map((s) => byName.get(s.name)!), options);
  }

  private static async start(
    experiment: string,
    pipeline: Pipeline,
    parameters: Readonly<Record<string, ParameterValue>>,
    spec: PipelineSpec,
    prepared: readonly PreparedStep[],
    options: SubmitOptions,
  ): Promise<PipelineRun> {
    const ws = pipeline.workspace;
    const graph = pipeline.graph;
    if (options.concurrency !== undefined && !(Number.isInteger(options.concurrency) && options.concurrency > 0)) {
      throw new PipebookError("step-invalid", `concurrency must be a whole number ≥ 1, got ${options.concurrency}`);
    }
    const record = (id: string): void =>
      ws.runs.createRun({
        id,
        experiment,
        source: options.source ?? "sdk",
        createdAt: new Date().toISOString(),
        parameters,
        graph: { edges: graph.edges, spec },
        options: { regenerateOutputs: options.regenerateOutputs ?? false },
        owner: currentOwner(),
        steps: graph.steps.map((s) => ({
          id: `${id}.${s.name}`,
          name: s.name,
          kind: s.kind,
          compute: s.computeTarget,
          logDir: join(ws.runsDir, id, s.name),
          inputs: s.inputs.map((i) => i.name),
          outputs: s.outputs.map((o) => o.name),
        })),
      });
    let id = newRunId();
    for (let attempt = 0; ; attempt++) {
      try {
        record(id);
        break;
      } catch (err) {
        if (!isIdCollision(err) || attempt >= 3) throw err;
        id = newRunId();
      }
    }
    const run = new PipelineRun(ws, id, experiment, parameters, graph, prepared, options);
    notifySubmission(run);
    return run;
  }

  get status(): RunStatus {
    return this.state;
  }

  /** Every status change, log chunk and metric, as it happens. */
  onEvent(listener: (e: RunEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** The whole run view after changes (coalesced to at most one every 100 ms), and once at the end. */
  onUpdate(listener: (view: RunView) => void): () => void {
    this.viewListeners.add(listener);
    return () => this.viewListeners.delete(listener);
  }

  /**
   * The run as stored; once the run has ended, its status is the one this process knows even
   * if the store could not take it yet (a full disk).
   */
  view(): Promise<RunView> {
    return buildRunView(this.workspace, this.id).then((v) => {
      if (!v) throw new Error(`run ${this.id} vanished from the store`);
      const o = this.outcome;
      if (!o || v.status === o.status) return v;
      const steps = v.steps.map((s) => {
        const known = this.stepOutcomes.get(s.name);
        return known && known.status !== s.status ? { ...s, status: known.status, ...(known.error && { error: known.error }) } : s;
      });
      return { ...v, status: o.status, ...(o.error && { error: o.error }), steps };
    });
  }

  async getSteps(): Promise<readonly StepView[]> {
    return (await this.view()).steps;
  }

  /** Waits for the end; with showOutput, streams step status and logs to stdout meanwhile. */
  async waitForCompletion(options: { showOutput?: boolean } = {}): Promise<RunView> {
    const off = options.showOutput ? this.onEvent((e) => printEvent(e, process.stdout)) : undefined;
    try {
      await this.finished;
    } finally {
      off?.();
    }
    return this.view();
  }

  /** Stops running steps (their process trees) and skips the rest. */
  cancel(): void {
    this.abort.abort();
  }

  /** Publishes this run's pipeline (its spec and source snapshots) under a name and version. */
  publishPipeline(options: PublishOptions): Promise<PublishedPipeline> {
    return PublishedPipeline.fromRun(this.workspace, this.id, options);
  }

  /** A stored run by id, from any process (a kernel, the server): look at it or publish it. */
  static get(ws: Workspace, runId: string): Promise<RecordedRun> {
    return RecordedRun.get(ws, runId);
  }

  private emit(e: RunEvent): void {
    if (e.type === "run-status") this.state = e.status;
    if (e.type === "step-status" && isTerminalStepStatus(e.status)) this.stepOutcomes.set(e.step, { status: e.status, ...(e.detail && e.status !== "completed" && e.status !== "reused" && { error: e.detail }) });
    for (const l of this.eventListeners) {
      try {
        l(e);
      } catch {
        // A listener's failure must not break the run.
      }
    }
    if (this.viewListeners.size === 0) return;
    // Log lines refresh the view's log tails at most once a second; status changes within 100 ms.
    if (e.type === "step-log") this.scheduleView(1000);
    else this.scheduleView(e.type === "run-status" && isTerminalRunStatus(e.status) ? 0 : 100);
  }

  /** Coalesces view updates: a pending one is brought forward by a more urgent change, never delayed. */
  private scheduleView(delayMs: number): void {
    const due = Date.now() + delayMs;
    if (this.viewTimer && this.viewDue <= due) return;
    clearTimeout(this.viewTimer);
    this.viewDue = due;
    this.viewTimer = setTimeout(() => {
      this.viewTimer = undefined;
      const seq = ++this.viewsAsked;
      void this.view().then((v) => {
        // Views are built asynchronously: never deliver one older than a view already delivered.
        if (seq < this.viewsDelivered) return;
        this.viewsDelivered = seq;
        this.viewListeners.forEach((l) => l(v));
      }, () => undefined);
    }, delayMs);
  }

  /** Replays writes a full disk refused, in order, every 2 s for up to 10 minutes. */
  private repairStore(writes: (() => void)[]): void {
    const started = Date.now();
    const timer = setInterval(() => {
      try {
        this.workspace.runs.transaction(() => writes.forEach((w) => w()));
        clearInterval(timer);
      } catch {
        if (Date.now() - started > 600_000) clearInterval(timer);
      }
    }, 2000);
    timer.unref();
  }

  private async execute(): Promise<RunStatus> {
    const { workspace: ws, graph } = this;
    // Let submit() return and callers subscribe before the first event.
    await new Promise((r) => setImmediate(r));
    if (this.options.startWhen) {
      const go = await this.options.startWhen.then(() => true, () => false);
      if (!go) this.abort.abort();
    }
    let storeError: string | undefined;
    const unrecorded: (() => void)[] = [];
    /**
     * Bookkeeping writes must not stop the scheduler: with a full disk every write fails, and
     * the run must still end. A failed write is kept and replayed once the store takes writes
     * again (see repairStore); if this process dies first, orphan recovery marks the run failed.
     */
    const record = (write: () => void): void => {
      try {
        if (unrecorded.length > 0) throw new Error("earlier writes are still pending");
        write();
      } catch (err) {
        storeError ??= err instanceof Error ? err.message : String(err);
        unrecorded.push(write);
      }
    };
    record(() => ws.runs.setRunStatus(this.id, "running", new Date().toISOString()));
    this.emit({ type: "run-status", runId: this.id, status: "running" });
    void readGitInfo(ws.root).then((git) => git && ws.runs.setGit(this.id, git), () => undefined);

    let baseEnv: Record<string, string> | undefined;
    const ctx: RunContext = {
      ws,
      runId: this.id,
      experiment: this.experiment,
      parameters: this.parameters,
      regenerateOutputs: this.options.regenerateOutputs ?? false,
      signal: this.abort.signal,
      data: new Map(),
      baseEnv: () => (baseEnv ??= { ...process.env } as Record<string, string>),
      emit: (e) => this.emit(e),
      record,
    };
    const n = graph.steps.length;
    const waitingOn = graph.upstream.map((u) => u.length);
    const results: (StepResult["status"] | "skipped" | undefined)[] = new Array(n);
    const ready: number[] = [];
    waitingOn.forEach((w, i) => w === 0 && ready.push(i));
    const limit = this.options.concurrency ?? ws.concurrency;
    let active = 0;
    let settled = 0;
    let firstError: string | undefined;

    /** Marks a step that will not run; the stored error is the decision's own sentence. */
    const skip = (i: number, decision: Decision, detail: string): void => {
      results[i] = "skipped";
      settled++;
      const name = graph.steps[i]!.name;
      record(() => ws.runs.updateStep(`${this.id}.${name}`, { status: "skipped", endedAt: new Date().toISOString(), decision, error: summarizeDecision(decision) }));
      this.emit({ type: "step-status", runId: this.id, step: name, status: "skipped", detail });
    };
    const skipDownstream = (from: number): void => {
      const upstream = graph.steps[from]!.name;
      const stack = [...graph.downstream[from]!];
      while (stack.length > 0) {
        const d = stack.pop()!;
        if (results[d] !== undefined) continue;
        skip(d, { reason: "upstream-failed", upstream }, `upstream step "${upstream}" did not complete`);
        stack.push(...graph.downstream[d]!);
      }
    };

    await new Promise<void>((resolveAll) => {
      const pump = (): void => {
        if (this.abort.signal.aborted) {
          for (const i of ready.splice(0)) {
            if (results[i] !== undefined) continue;
            skip(i, { reason: "run-canceled" }, "the run was canceled");
            skipDownstream(i);
          }
        }
        while (active < limit && ready.length > 0) {
          const i = ready.shift()!;
          if (results[i] !== undefined) continue;
          active++;
          const step = this.prepared[i]!;
          const stepRunId = `${this.id}.${step.step.name}`;
          const logDir = join(ws.runsDir, this.id, step.step.name);
          const compute = ws.getComputeTarget(step.step.computeTarget)!;
          void runStep(ctx, step, stepRunId, logDir, compute)
            .catch((err: unknown) => {
              // Not a step failure but ours (disk full, store error): record it on the step.
              const error = `step "${step.step.name}" failed inside pipebook: ${err instanceof Error ? err.message : String(err)}`;
              record(() => ws.runs.updateStep(stepRunId, { status: "failed", endedAt: new Date().toISOString(), error }));
              this.emit({ type: "step-status", runId: this.id, step: step.step.name, status: "failed", detail: error });
              return { status: "failed", error } satisfies StepResult;
            })
            .then((result: StepResult) => {
              active--;
              results[i] = result.status;
              settled++;
              if (result.status === "completed" || result.status === "reused") {
                for (const d of graph.downstream[i]!) if (--waitingOn[d]! === 0) ready.push(d);
              } else {
                firstError ??= result.error ?? `step "${step.step.name}" ${result.status}`;
                skipDownstream(i);
              }
              if (settled === n) resolveAll();
              else pump();
            });
        }
        if (settled === n) resolveAll();
      };
      this.abort.signal.addEventListener("abort", pump, { once: true });
      pump();
    });

    const canceled = this.abort.signal.aborted;
    const ok = results.every((r) => r === "completed" || r === "reused") && storeError === undefined;
    const status: RunStatus = ok ? "completed" : canceled ? "canceled" : "failed";
    let error = ok ? undefined : canceled ? "the run was canceled" : (firstError ?? `the run could not be recorded: ${storeError}`);
    record(() => ws.runs.setRunStatus(this.id, status, new Date().toISOString(), error));
    if (storeError) {
      error = `${error} (the store could not be written: ${storeError}; it is updated once it can be)`;
      this.repairStore(unrecorded);
    }
    this.outcome = { status, ...(error && { error }) };
    this.emit({ type: "run-status", runId: this.id, status, ...(error && { error }) });
    return status;
  }
}
