import { stepRunIdOf, type GitInfo } from "../store/RunStore.js";
import type { DownloadOutputsOptions, DownloadReport } from "../artifacts/outputDownload.js";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { isTerminalRunStatus, isTerminalStepStatus, type ParameterValue, type RunStatus, type RunView, type StepView } from "../contract/runView.js";
import type { Capacity } from "../compute/Compute.js";
import type { Pipeline } from "../dsl/Pipeline.js";
import type { Workspace } from "../workspace/Workspace.js";
import { SubmitError } from "./SubmitFailure.js";
import type { PipelineGraph } from "../graph/buildGraph.js";
import type { Decision } from "../explain/Decision.js";
import { summarizeDecision } from "../explain/formatDecision.js";
import type { PipelineSpec } from "../spec/PipelineSpec.js";
import { fromPipelineSpec, toPipelineSpec } from "../spec/specCodec.js";
import type { PublishedPipeline, PublishOptions } from "../publish/PublishedPipeline.js";
import type { RecordedRun } from "../publish/RecordedRun.js";
import { buildRunView } from "./buildRunView.js";
import { DataTransferStep } from "../dsl/DataTransferStep.js";
import type { PipelineStep } from "../dsl/steps.js";
import { LiveView } from "./LiveView.js";
import { isIdCollision, newRunId } from "./newRunId.js";
import { notifySubmission, RUN_HANDLE, type RunHandle } from "../contract/runHandle.js";
import { prepareStep, printPrepareProgress, submitScope, type PrepareProgress, type PreparedStep } from "./prepareStep.js";
import { printEvent } from "./printEvent.js";
import { currentOwner } from "../compute/processIdentity.js";
import { readGitInfo } from "./readGitInfo.js";
import { resolveParameters } from "./resolveParameters.js";
import type { RunChange } from "./RunChange.js";
import type { RunEvent } from "./RunEvent.js";
import { RunRecorder } from "./RunRecorder.js";
import { removeMadeAhead, runStep, type RunContext, type StepResult } from "./runStep.js";
import { Scheduler } from "./Scheduler.js";
import { StepLogs } from "./StepLogs.js";

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
   * lets a server accept many runs and execute a few at a time. A rejection cancels the run, and
   * its message is the run's error.
   */
  readonly startWhen?: Promise<unknown>;
  /** Progress of environment builds during submit (a venv, a derived image); default: stderr. */
  readonly onPrepare?: PrepareProgress;
  /**
   * The git facts of the code the run executes, where they are known apart from this process's
   * folder (a published pipeline: those of the run it was published from; null when none).
   * Without it, the workspace folder's repository is asked.
   */
  readonly git?: GitInfo | null;
  /**
   * The run's id, chosen before submit (a server claims an Idempotency-Key together with the id
   * its run will have). A run with this id already in the store is refused (SQLite's primary key).
   */
  readonly runId?: string;
}

/** A startWhen that rejects while submit is still snapshotting is an answer (cancel), not an unhandled error. */
function markHandled(p: Promise<unknown> | undefined): void {
  p?.catch(() => undefined);
}

/**
 * A submitted pipeline run. `submit` checks and snapshots everything, records the run and
 * returns at once; steps execute in the background in this process, in parallel where the
 * graph and their targets allow. The parts: a Scheduler picks the steps that may start, runStep
 * carries each through its life, a RunRecorder writes every change to the store, and a LiveView
 * keeps the run in memory for views.
 */
/** How often a run in flight looks for a cancel asked by another process. */
const CANCEL_POLL_MS = 1000;

export class PipelineRun implements RunHandle {
  /** Marks a run for the kernel, whichever copy of pipebook made it (pipebook/contract isRunHandle). */
  readonly [RUN_HANDLE] = true;

  private readonly eventListeners = new Set<(e: RunEvent) => void>();
  private readonly viewListeners = new Set<(v: RunView) => void>();
  private readonly abort = new AbortController();
  /** Why the run ends canceled when it was not a plain cancel (its server refused to start it). */
  private cancelReason: string | undefined;
  private readonly finished: Promise<RunStatus>;
  private readonly recorder: RunRecorder;
  private state: RunStatus = "queued";
  private viewTimer: NodeJS.Timeout | undefined;
  private viewDue = 0;
  private viewsAsked = 0;
  private viewsDelivered = 0;

  private constructor(
    readonly workspace: Workspace,
    readonly id: string,
    readonly experiment: string,
    readonly parameters: Readonly<Record<string, ParameterValue>>,
    private readonly graph: PipelineGraph,
    private readonly prepared: readonly PreparedStep[],
    private readonly options: SubmitOptions,
    private readonly live: LiveView,
  ) {
    this.recorder = new RunRecorder(workspace, id, (c: RunChange) => live.apply(c));
    // Another process (`pipebook cancel`) asks through the store; one indexed read a second.
    const asked = setInterval(() => {
      try {
        if (workspace.runs.cancelRequested(id)) this.cancel();
      } catch {
        // The store is closed or busy: the next look asks again.
      }
    }, CANCEL_POLL_MS);
    asked.unref();
    this.finished = this.execute().finally(() => clearInterval(asked));
  }

  static async submit(experiment: string, pipeline: Pipeline, options: SubmitOptions = {}): Promise<PipelineRun> {
    markHandled(options.startWhen);
    const graph = pipeline.validate();
    // Parameters are checked before snapshotting: a typo should not cost a hash of the sources.
    const parameters = resolveParameters(pipeline.parameters, options.parameterAssignments);
    // Steps that will run whatever the store holds: their targets get ready while this run is prepared.
    const running = new Set(graph.steps.filter((s) => runsWhateverStored(s, options)).map((s) => s.computeTarget));
    for (const target of running) pipeline.workspace.getComputeTarget(target)?.warm?.();
    const progress = options.onPrepare ?? printPrepareProgress;
    const scope = submitScope();
    const prepared = await Promise.all(graph.steps.map((s) => prepareStep(pipeline.workspace, s, progress, scope)));
    return PipelineRun.start(experiment, pipeline, parameters, toPipelineSpec(pipeline, prepared), prepared, options);
  }

  /** Runs a stored pipeline spec again (a published pipeline, a REST call): code from its snapshots. */
  static async submitSpec(ws: Workspace, experiment: string, spec: PipelineSpec, options: SubmitOptions = {}): Promise<PipelineRun> {
    markHandled(options.startWhen);
    const { pipeline, prepared } = await fromPipelineSpec(ws, spec, options.onPrepare ?? printPrepareProgress);
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
      throw new SubmitError({ reason: "concurrency-invalid", concurrency: options.concurrency });
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
          id: stepRunIdOf(id, s.name),
          name: s.name,
          kind: s.kind,
          compute: s.computeTarget,
          logDir: join(ws.runsDir, id, s.name),
          inputs: s.inputs.map((i) => i.name),
          outputs: s.outputs.map((o) => o.name),
        })),
      });
    let id = options.runId ?? newRunId();
    for (let attempt = 0; ; attempt++) {
      try {
        record(id);
        break;
      } catch (err) {
        if (!isIdCollision(err) || attempt >= 3 || options.runId !== undefined) throw err;
        id = newRunId();
      }
    }
    // A first step that runs whatever the store holds: its target readies its start meanwhile.
    const first = prepared.find((p, i) => graph.upstream[i]!.length === 0 && runsWhateverStored(p.step, options));
    if (first) first.compute.expectFirst?.(stepRunIdOf(id, first.step.name));
    // The one time this process reads the run back: from here on the live view is kept in memory.
    const initial = await buildRunView(ws, id);
    if (!initial) throw new Error(`run ${id} vanished from the store`);
    const run = new PipelineRun(ws, id, experiment, parameters, graph, prepared, options, new LiveView(ws, initial));
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
   * The run as this process knows it (held in memory; the store has the same once it can be
   * written, even after a full disk).
   */
  view(): Promise<RunView> {
    return this.live.view();
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

  /** Stops running steps (their process trees or containers) and skips the rest. */
  cancel(): void {
    this.abort.abort();
  }

  /**
   * Copies the run's recorded outputs to `dest/<step>/<output>/…` (only `options.step`'s, or only
   * outputs named `options.output`); files already there with the same content are not copied again.
   */
  async downloadOutputs(dest: string, options: DownloadOutputsOptions = {}): Promise<DownloadReport> {
    return (await import("./downloadRunOutputs.js")).downloadRunOutputs(this.workspace, this.id, dest, options);
  }

  /** Publishes this run's pipeline (its spec and source snapshots) under a name and version. */
  publishPipeline(options: PublishOptions): Promise<PublishedPipeline> {
    return this.workspace.services.publishRun(this.workspace, this.id, options);
  }

  /** A stored run by id, from any process (a kernel, the server): look at it or publish it. */
  static get(ws: Workspace, runId: string): Promise<RecordedRun> {
    return ws.services.recordedRun(ws, runId);
  }

  private emit(e: RunEvent): void {
    if (e.type === "run-status") this.state = e.status;
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

  /** Marks a step that will not run; the stored error is the decision's own sentence. */
  private skip(i: number, decision: Decision, detail: string): void {
    const name = this.graph.steps[i]!.name;
    this.recorder.record({ type: "step", step: name, update: { status: "skipped", endedAt: new Date().toISOString(), decision, error: summarizeDecision(decision) } });
    this.emit({ type: "step-status", runId: this.id, step: name, status: "skipped", detail });
  }

  /** A line in a step's log before it starts (it waits for its target's resources). */
  private noteWaiting(i: number, text: string): void {
    const name = this.graph.steps[i]!.name;
    const dir = join(this.workspace.runsDir, this.id, name);
    mkdirSync(dir, { recursive: true });
    const logs = new StepLogs(dir);
    const chunk = Buffer.from(`[pipebook] ${text}\n`);
    logs.write("stderr", chunk);
    logs.close();
    this.recorder.observeOnly({ type: "log", step: name, text: chunk.toString() });
    this.emit({ type: "step-log", runId: this.id, step: name, stream: "stderr", text: chunk.toString() });
  }

  private async capacities(): Promise<Map<string, Capacity>> {
    const targets = [...new Set(this.prepared.map((p) => p.compute))];
    return new Map(await Promise.all(targets.map(async (t) => [t.name, await t.capacity()] as const)));
  }

  private async execute(): Promise<RunStatus> {
    const { workspace: ws, graph, recorder } = this;
    // Let submit() return and callers subscribe before the first event.
    await new Promise((r) => setImmediate(r));
    if (this.options.startWhen) {
      // A refusal's message is the reason the run ends canceled (e.g. its server stopped).
      const refusal = await this.options.startWhen.then(() => undefined, (err: unknown) => (err instanceof Error ? err.message : String(err)));
      if (refusal !== undefined) {
        this.cancelReason ??= refusal;
        this.abort.abort();
      }
    }
    recorder.record({ type: "run", status: "running", at: new Date().toISOString() });
    this.emit({ type: "run-status", runId: this.id, status: "running" });
    // The git facts are written before the run's end is: a run that has ended is completely
    // recorded, so a process may exit as soon as it sees the end (the CLI does), and git, asked on
    // its worker thread as the run starts, answers while the steps run or decide reuse.
    let gitRecorded: Promise<void> = Promise.resolve();
    if (this.options.git !== undefined) {
      if (this.options.git) ws.runs.setGit(this.id, this.options.git);
    } else {
      const id = this.id;
      // A store that refuses the write (full disk) loses the facts, not the run.
      gitRecorded = readGitInfo(ws.root)
        .then((git) => git && ws.runs.setGit(id, git))
        .catch(() => undefined);
    }

    const ctx: RunContext = {
      ws,
      runId: this.id,
      experiment: this.experiment,
      parameters: this.parameters,
      regenerateOutputs: this.options.regenerateOutputs ?? false,
      signal: this.abort.signal,
      data: new Map(),
      recorder,
      emit: (e) => this.emit(e),
      madeAhead: new Map(),
    };
    const scheduler = new Scheduler(
      graph,
      this.prepared.map((p) => ({ target: p.compute.name, gpus: p.step.runconfig.gpus, cpus: p.step.runconfig.cpus ?? 0, memoryMb: p.step.runconfig.memoryMb ?? 0 })),
      await this.capacities(),
      this.options.concurrency ?? ws.concurrency,
    );
    const noted = new Set<number>();
    let firstError: string | undefined;
    const skipDownstream = (from: number, ended: number[]): void => {
      const upstream = graph.steps[from]!.name;
      for (const d of ended) skip(d, upstream);
    };
    const skip = (d: number, upstream: string): void => this.skip(d, { reason: "upstream-failed", upstream }, `upstream step "${upstream}" did not complete`);

    await new Promise<void>((resolveAll) => {
      const pump = (): void => {
        if (this.abort.signal.aborted) {
          for (const i of scheduler.cancel()) this.skip(i, { reason: "run-canceled" }, "the run was canceled");
        }
        for (const i of scheduler.take()) {
          const step = this.prepared[i]!;
          // With the step that may start when this one ends, which it readies if it runs.
          const next = scheduler.nextAfter(i)[0];
          void runStep(ctx, step, next === undefined ? undefined : this.prepared[next])
            .catch((err: unknown): StepResult => {
              // Not a step failure but ours (disk full, store error): record it on the step.
              const error = `step "${step.step.name}" failed inside pipebook: ${err instanceof Error ? err.message : String(err)}`;
              recorder.record({ type: "step", step: step.step.name, update: { status: "failed", endedAt: new Date().toISOString(), error } });
              this.emit({ type: "step-status", runId: this.id, step: step.step.name, status: "failed", detail: error });
              return { status: "failed", error };
            })
            .then((result) => {
              const ok = result.status === "completed" || result.status === "reused";
              if (!ok) firstError ??= result.error ?? `step "${step.step.name}" ${result.status}`;
              skipDownstream(i, scheduler.finish(i, ok));
              pump();
            });
        }
        for (const i of scheduler.blocked()) {
          if (noted.has(i)) continue;
          noted.add(i);
          const r = this.prepared[i]!.step.runconfig;
          this.noteWaiting(i, r.gpus > 0 ? `waiting for ${r.gpus} free GPU${r.gpus > 1 ? "s" : ""}` : `waiting for free CPUs or memory on compute target "${this.prepared[i]!.compute.name}"`);
        }
        if (scheduler.done) resolveAll();
      };
      this.abort.signal.addEventListener("abort", pump, { once: true });
      pump();
    });

    await gitRecorded;
    for (const made of ctx.madeAhead.values()) removeMadeAhead(made);
    const canceled = this.abort.signal.aborted;
    // Statuses only: a whole view would read every output's preview, which nobody may ask for.
    const ok = this.live.stepStatuses().every((s) => s === "completed" || s === "reused") && recorder.storeError === undefined;
    const status: RunStatus = ok ? "completed" : canceled ? "canceled" : "failed";
    let error = ok ? undefined : canceled ? (this.cancelReason ?? "the run was canceled") : (firstError ?? `the run could not be recorded: ${recorder.storeError}`);
    const at = new Date().toISOString();
    recorder.record({ type: "run", status, at, ...(error && { error }) });
    if (recorder.storeError) {
      // This process says why its view is ahead of the store; the store gets the plain error once it takes writes.
      error = `${error} (the store could not be written: ${recorder.storeError}; it is updated once it can be)`;
      recorder.observeOnly({ type: "run", status, at, error });
      recorder.repairLater();
    }
    this.emit({ type: "run-status", runId: this.id, status, ...(error && { error }) });
    return status;
  }
}

/** Whether a step runs whatever the store holds (no earlier result may stand in for it). */
function runsWhateverStored(step: PipelineStep, options: SubmitOptions): boolean {
  return (options.regenerateOutputs === true || !step.allowReuse) && !(step instanceof DataTransferStep);
}
