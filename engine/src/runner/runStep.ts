import { mkdirSync, readdirSync, rmdirSync, rmSync, statSync, type Stats } from "node:fs";
import { join } from "node:path";
import type { ParameterValue, StepStatus } from "../contract/runView.js";
import type { LaunchOutcome } from "../compute/Compute.js";
import type { Workspace } from "../workspace/Workspace.js";
import { summarizeDecision } from "../explain/formatDecision.js";
import { hashEntries, hashTree, type TreeHasherDeps } from "../fingerprint/hashTree.js";
import { buildStepJob, resolveInputs } from "./buildStepJob.js";
import { decideReuse } from "./decideReuse.js";
import { DataTransferStep } from "../dsl/DataTransferStep.js";
import { stepRunIdOf, type StepUpdate } from "../store/RunStore.js";
import type { PreparedStep } from "./prepareStep.js";
import type { RunEvent } from "./RunEvent.js";
import type { RunRecorder } from "./RunRecorder.js";
import { stepKey } from "./stepKey.js";
import { traceStep } from "../compute/stepTrace.js";

/**
 * What only a step that runs uses (its IO, the wording of its outcome, output delivery), loaded
 * once, when the process's first step runs: a rerun that reuses every step loads none of it.
 */
let running: Promise<[typeof import("./StepJobIO.js"), typeof import("./describeOutcome.js"), typeof import("./deliverOutputs.js")]> | undefined;
const runningModules = (): NonNullable<typeof running> =>
  (running ??= Promise.all([import("./StepJobIO.js"), import("./describeOutcome.js"), import("./deliverOutputs.js")]));

/** What one run shares with its steps while it executes. */
export interface RunContext {
  readonly ws: Workspace;
  readonly runId: string;
  readonly experiment: string;
  readonly parameters: Readonly<Record<string, ParameterValue>>;
  readonly regenerateOutputs: boolean;
  readonly signal: AbortSignal;
  /**
   * Data name → where the producing step left it and its content digest; and its layout where the
   * producer saw it while hashing (a reused output is not looked at: a step reading it stats it).
   */
  readonly data: Map<string, { path: string; digest: string; layout?: "file" | "folder" }>;
  readonly recorder: RunRecorder;
  readonly emit: (event: RunEvent) => void;
  /**
   * Folders of steps made ahead, while the step before them ran (parents first), by step name:
   * taken by the step when it runs; the run removes those of steps that did not once it ends.
   */
  readonly madeAhead: Map<string, MadeAhead>;
}

export interface StepResult {
  readonly status: Extract<StepStatus, "completed" | "reused" | "failed" | "canceled">;
  /** For failed and canceled steps: the sentence a person reads. */
  readonly error?: string;
}

/** What was made for a step while the step before it ran: its folders (parents first), and the one holding its code. */
export interface MadeAhead {
  readonly dirs: readonly string[];
  readonly codeIn?: string;
}

/**
 * The life of one step: decide reuse → stage its job → launch it on its target → collect and
 * verify its outputs → record. Every change goes through the recorder (store and live view).
 */
export async function runStep(ctx: RunContext, p: PreparedStep, next?: PreparedStep): Promise<StepResult> {
  const { runId, recorder } = ctx;
  const step = p.step;
  const now = (): string => new Date().toISOString();

  const stepRunId = stepRunIdOf(runId, step.name);
  traceStep(stepRunId, "runStep");
  const inputs = await resolveInputs(ctx, p);
  // Made where the decision needs it, else once the step started (its "running" record holds it):
  // a step that runs whatever the store holds (--regenerate, allowReuse: false) starts without
  // waiting for a canonical JSON and a SHA-256 (~0.16 ms a step).
  let key: ReturnType<typeof stepKey> | undefined;
  const keyOf = (): ReturnType<typeof stepKey> => (key ??= stepKey({
    step, source: p.source, hashPaths: p.hashPaths, parameters: ctx.parameters,
    inputDigests: Object.fromEntries(inputs.map((i) => [i.name, i.digest])), environment: p.environment, compute: p.compute,
  }));
  const decide = () => decideReuse({
    ws: ctx.ws, runId, experiment: ctx.experiment, stepName: step.name, key: keyOf,
    allowReuse: step.allowReuse, regenerateOutputs: ctx.regenerateOutputs,
  });
  let verdict = await decide();
  traceStep(stepRunId, "decided");
  // The same step may be about to run, or running, elsewhere (two identical runs submitted
  // together): claim the key or wait for the one that did, then decide again and reuse its result.
  while (!verdict.reuse && step.allowReuse && !ctx.regenerateOutputs && !ctx.signal.aborted) {
    const twin = ctx.ws.runs.claimKey(stepRunId, keyOf().digest);
    if (twin === undefined || (await (await import("./waitForTwin.js")).waitForTwin(ctx, step.name, twin)) !== "ended") break;
    verdict = await decide();
  }
  // A transfer is reused only while its destination still holds what the source has.
  if (verdict.reuse && step instanceof DataTransferStep) {
    const problem = await transferDestinationProblem(ctx, step);
    if (problem) verdict = { reuse: false, decision: { reason: "outputs-invalid", from: verdict.decision.from, problems: [problem] } };
  }
  // What the step's record keeps of its decision (the key made now, where nothing made it yet).
  const { decision } = verdict;
  const decided = (): StepUpdate => ({ keyDigest: keyOf().digest, keyComponents: keyOf().components, decision });
  if (verdict.reuse) {
    const at = now();
    recorder.strictly({
      type: "step", step: step.name, outputs: verdict.outputs,
      update: { status: "reused", ...decided(), reusedFrom: verdict.origin.id, startedAt: at, endedAt: at },
    });
    for (const o of verdict.outputs) ctx.data.set(o.name, { path: o.path, digest: o.digest ?? "" });
    ctx.emit({ type: "step-status", runId, step: step.name, status: "reused", detail: summarizeDecision(verdict.decision) });
    return { status: "reused" };
  }

  // A miss: stage the job and hand it to the target.
  if (step instanceof DataTransferStep) return runTransfer(ctx, step, decided());
  const [{ StepJobIO, copySnapshotSync }, { describeOutcome }, { deliverOutputs }] = await runningModules();
  const job = await buildStepJob(ctx, p, stepRunId, inputs);
  const { stepDir, outputDirs, all } = stepFolders(ctx, p);
  // Step run ids are new for every run, so these folders never hold anything yet (or were made
  // ahead, empty, while the step before this one ran).
  const ahead = ctx.madeAhead.get(step.name);
  ctx.madeAhead.delete(step.name);
  if (!ahead) for (const dir of all) makeDir(dir);
  const io = new StepJobIO(ctx, p, stepDir, outputDirs, decided, next && (() => makeAhead(ctx, next, copySnapshotSync)), ahead?.codeIn);
  traceStep(stepRunId, "dirs-made");
  let outcome: LaunchOutcome;
  try {
    // The step that may start when this one ends (PipelineRun), where it runs on the same target: its start is readied.
    const hints = next && next.compute === p.compute ? { next: stepRunIdOf(runId, next.step.name) } : undefined;
    outcome = await p.compute.run(job, io, ctx.signal, hints);
    // What ran it was lost (an agent gone, a launcher dead): the step may run again, never while
    // the lost attempt could still write (the target stopped it, or fenced it off), with fresh outputs.
    for (let retry = 1; outcome.reason === "lost" && retry <= step.maxRetries && !ctx.signal.aborted; retry++) {
      io.note(`${outcome.message}; running it again (retry ${retry} of ${step.maxRetries})`);
      for (const dir of outputDirs.values()) {
        rmSync(dir, { recursive: true, force: true });
        makeDir(dir);
      }
      outcome = await p.compute.run(job, io, ctx.signal, hints);
    }
  } finally {
    io.close();
  }
  traceStep(stepRunId, "run-returned");
  const endedAt = now();
  const durationMs = Date.parse(endedAt) - Date.parse(io.startedAt ?? endedAt);
  const error = describeOutcome(step.name, outcome, io.lastErrorLine());
  if (error) {
    const status = outcome.reason === "canceled" ? "canceled" : "failed";
    return endUnfinished(ctx, step.name, status, error, durationMs, {
      ...decided(), endedAt, pid: null, ...(outcome.reason === "exit-non-zero" && outcome.code !== null && { exitCode: outcome.code }),
    });
  }

  // Collect: the one hashing pass over what the step wrote; it is also the verification.
  const produced: { name: string; path: string; digest: string; layout?: "folder" }[] = [];
  for (const [name, path] of outputDirs) {
    produced.push({ name, path, ...(await outputDigest(path, { cache: ctx.ws.statCache, pool: ctx.ws.hashPool })) });
  }
  traceStep(stepRunId, "outputs-hashed");
  // OutputFileDatasetConfig outputs: uploaded to their destinations, registered as datasets.
  try {
    await deliverOutputs(ctx, step, stepRunId, produced);
  } catch (err) {
    return endUnfinished(ctx, step.name, "failed", err instanceof Error ? err.message : String(err), durationMs, { ...decided(), endedAt, pid: null });
  }
  recorder.strictly({ type: "step", step: step.name, outputs: produced.map(({ name, path, digest }) => ({ name, path, digest })), update: { status: "completed", endedAt, exitCode: 0, pid: null } });
  for (const o of produced) ctx.data.set(o.name, { path: o.path, digest: o.digest, ...(o.layout && { layout: o.layout }) });
  traceStep(stepRunId, "recorded");
  ctx.emit({ type: "step-status", runId, step: step.name, status: "completed", durationMs });
  return { status: "completed" };
}

/** A DataTransferStep that runs: the engine copies the data itself (no process, no compute target). */
async function runTransfer(ctx: RunContext, step: DataTransferStep, decided: StepUpdate): Promise<StepResult> {
  const startedAt = new Date().toISOString();
  ctx.recorder.strictly({ type: "step", step: step.name, update: { ...decided, status: "running", startedAt } });
  ctx.emit({ type: "step-status", runId: ctx.runId, step: step.name, status: "running" });
  const from = { store: step.source.datastore, path: step.source.pathOnDatastore };
  const to = { store: step.destination.datastore, path: step.destination.pathOnDatastore };
  let error: string | undefined;
  try {
    await (await import("../datastores/transfer.js")).transfer(from, to);
  } catch (err) {
    error = `step "${step.name}": transfer from ${from.store.name}:${from.path} to ${to.store.name}:${to.path} failed: ${err instanceof Error ? err.message : String(err)}`;
  }
  const endedAt = new Date().toISOString();
  const durationMs = Date.parse(endedAt) - Date.parse(startedAt);
  if (error) return endUnfinished(ctx, step.name, "failed", error, durationMs, { ...decided, endedAt });
  ctx.recorder.strictly({ type: "step", step: step.name, outputs: [], update: { status: "completed", endedAt, exitCode: 0 } });
  ctx.emit({ type: "step-status", runId: ctx.runId, step: step.name, status: "completed", durationMs });
  return { status: "completed" };
}

/**
 * Ends a step that failed or was canceled: the event every viewer sees, then the store. The
 * step's own failure is the news; a store that cannot take it (full disk) is reported by the
 * run, which keeps going.
 */
function endUnfinished(ctx: RunContext, step: string, status: "failed" | "canceled", error: string, durationMs: number, update: StepUpdate): StepResult {
  ctx.emit({ type: "step-status", runId: ctx.runId, step, status, detail: error, durationMs });
  ctx.recorder.record({ type: "step", step, update: { ...update, status, error } });
  return { status, error };
}

/** Why an earlier transfer's result cannot stand for this one, or undefined: its destination must still hold the source's content. */
async function transferDestinationProblem(ctx: RunContext, step: DataTransferStep): Promise<string | undefined> {
  const cache = ctx.ws.statCache;
  const { transferDigest } = await import("../datastores/transfer.js");
  const source = await transferDigest({ store: step.source.datastore, path: step.source.pathOnDatastore }, cache);
  const dest = await transferDigest({ store: step.destination.datastore, path: step.destination.pathOnDatastore }, cache);
  const where = `destination "${step.destination.pathOnDatastore}" on datastore ${step.destination.datastore.name}`;
  if (dest === undefined) return `${where} no longer exists`;
  return dest === source ? undefined : `${where} no longer holds the transferred content`;
}

/** The folders a step's run writes in, `all` parents first: its step folder, and its outputs' in the data folder. */
function stepFolders(ctx: RunContext, p: PreparedStep): { stepDir: string; outputDirs: Map<string, string>; all: string[] } {
  const stepRunId = stepRunIdOf(ctx.runId, p.step.name);
  const stepDir = join(ctx.ws.runsDir, ctx.runId, p.step.name);
  const outputDirs = new Map(p.step.outputs.map((o) => [o.name, join(ctx.ws.dataDir, stepRunId, o.name)]));
  return { stepDir, outputDirs, all: [stepDir, ...(outputDirs.size > 0 ? [join(ctx.ws.dataDir, stepRunId), ...outputDirs.values()] : [])] };
}

/**
 * Makes the folders of the step expected next while this one runs, off that step's path, and
 * lays out its code where its target runs it from (a folder or a file costs 0.04-0.15 ms on these
 * machines' disks; a chain's local step has four folders and a script). What fails here is left
 * for that step, which makes its folders and copies its code itself.
 */
function makeAhead(ctx: RunContext, next: PreparedStep, copyCode: (ws: Workspace, p: PreparedStep, dest: string) => boolean): void {
  if (ctx.signal.aborted || ctx.madeAhead.has(next.step.name)) return;
  const { stepDir, all } = stepFolders(ctx, next);
  const work = next.compute.workFolder?.(stepDir);
  const made: string[] = [];
  let codeIn: string | undefined;
  try {
    for (const dir of work === undefined ? all : [...all, work]) {
      mkdirSync(dir);
      made.push(dir);
    }
    if (work !== undefined && copyCode(ctx.ws, next, work)) codeIn = work;
  } catch {
    // The code went only into a work folder made here.
    removeMadeAhead({ dirs: made, ...(work !== undefined && made.includes(work) && { codeIn: work }) });
    return;
  }
  ctx.madeAhead.set(next.step.name, { dirs: made, ...(codeIn !== undefined && { codeIn }) });
}

/**
 * Removes what was made ahead for a step that did not run: the code laid out (ours alone), then
 * the folders, children first, where empty (a waiting step's note may be in its step folder).
 */
export function removeMadeAhead(made: MadeAhead): void {
  if (made.codeIn !== undefined) rmSync(made.codeIn, { recursive: true, force: true });
  for (const dir of [...made.dirs].reverse()) {
    try {
      rmdirSync(dir);
    } catch {
      // Gone, or not empty: then not ours to remove.
    }
  }
}

/**
 * A folder whose parent exists: one mkdir (a recursive mkdir of a path two levels deep first fails
 * on the missing level). Anything unusual is left to the recursive mkdir, which reports as before.
 */
function makeDir(path: string): void {
  try {
    mkdirSync(path);
  } catch {
    mkdirSync(path, { recursive: true });
  }
}

/** hashTree's digest of an empty folder, computed once by hashEntries (where hashTree ends). */
let emptyFolderDigest: string | undefined;

/**
 * The digest of an output as hashTree gives it, and "folder" where it was seen to be one (what a
 * step reading it is told; otherwise that step stats it). An output the step left empty (a marker
 * step, a step that wrote nothing) is looked at synchronously: hashTree's stat and readdir are two
 * trips through the thread pool, a good part of a trivial step's overhead. Only a folder of one
 * block (a few hundred names at most) is listed here, so a large output is not listed twice.
 */
async function outputDigest(path: string, deps: TreeHasherDeps): Promise<{ digest: string; layout?: "folder" }> {
  let st: Stats | undefined;
  let empty = false;
  try {
    st = statSync(path);
    empty = st.isDirectory() && st.size <= 4096 && readdirSync(path).length === 0;
  } catch {
    // Gone or unreadable: hashTree says why.
  }
  const digest = empty ? (emptyFolderDigest ??= (await hashEntries([], "dir", deps)).digest) : (await hashTree(path, deps)).digest;
  return st?.isDirectory() ? { digest, layout: "folder" } : { digest };
}
