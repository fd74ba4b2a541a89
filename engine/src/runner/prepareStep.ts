import { stat } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { DataReference } from "../dsl/data.js";
import { DatasetInput } from "../dsl/Dataset.js";
import { ScriptStep, type PipelineStep } from "../dsl/steps.js";
import { ModuleStep } from "../dsl/ModuleStep.js";
import type { Workspace } from "../workspace/Workspace.js";
import { PipebookError } from "../errors/PipebookError.js";
import { SubmitError } from "./SubmitFailure.js";
import { asDigest, type Digest } from "../fingerprint/digest.js";
import { hashTree } from "../fingerprint/hashTree.js";
import { snapshotSource, type SourceSnapshot } from "../fingerprint/snapshotSource.js";
import { sharedIn, type Compute, type PrepareScope } from "../compute/Compute.js";
import type { ResolvedEnvironment } from "../compute/StepJob.js";

/** A step checked and snapshotted at submit: its code is fixed from here on. */
export interface PreparedStep {
  readonly step: PipelineStep;
  /** Snapshot manifest blob, or undefined for a step without a source folder. */
  readonly manifest: Digest | undefined;
  readonly source: Readonly<Record<string, string>>;
  readonly hashPaths: Readonly<Record<string, string>>;
  /** The target it runs on, and its environment as that target resolved it (image digest, venv). */
  readonly compute: Compute;
  readonly environment: ResolvedEnvironment;
}

/**
 * What the steps of one submit share while they are prepared: the interpreters their targets
 * resolved (PrepareScope), and the snapshots of their source folders by folder: a chain of 50
 * steps in one folder walks and stores it once. A snapshot depends on the folder alone (its
 * ignore files are read from it); what differs per step (the script's presence, `hashPaths`) is
 * checked per step. One per submit: the next submit sees what changed on disk since.
 */
export interface SubmitScope extends PrepareScope {
  readonly sources: Map<string, Promise<SourceSnapshot>>;
}

export function submitScope(): SubmitScope {
  return { interpreters: new Map(), sources: new Map() };
}

/** Where environment builds (venvs, images) report their progress during submit. */
export type PrepareProgress = (step: string, line: string) => void;

/** Environment builds are rare and slow: by default they say what they do on stderr. */
export const printPrepareProgress: PrepareProgress = (step, line) => void process.stderr.write(`[pipebook] ${step}: ${line}\n`);

/**
 * Snapshots the source folder, checks the script is in it, hashes `hashPaths` and checks
 * that data references point at something, so a bad step fails the submit, not the run.
 */
export async function prepareStep(ws: Workspace, step: PipelineStep, progress: PrepareProgress, scope: SubmitScope = submitScope()): Promise<PreparedStep> {
  if (step instanceof ModuleStep) {
    checkModuleVersion(ws, step, progress);
    await checkInputs(ws, step);
    const { manifest, source } = step.moduleVersion.definition;
    return { step, manifest: manifest === undefined ? undefined : asDigest(manifest), source, hashPaths: {}, ...(await prepareEnvironment(ws, step, progress, scope)) };
  }
  const { manifest, source, hashPaths } = await snapshotStep(ws, step, scope);
  await checkInputs(ws, step);
  const { compute, environment } = await prepareEnvironment(ws, step, progress, scope);
  return { step, manifest, source, hashPaths, compute, environment };
}

/** A step's code fixed by content: what a spec names of it (see PreparedStep). */
export type SnapshottedStep = Pick<PreparedStep, "step" | "manifest" | "source" | "hashPaths">;

/**
 * The code part of prepareStep: snapshots the source folder into the workspace's blobs, checks
 * the script is in it and hashes `hashPaths`. A remote workspace stops here: the data and the
 * compute are the server's to check.
 */
export async function snapshotStep(ws: Workspace, step: PipelineStep, scope: Pick<SubmitScope, "sources"> = submitScope()): Promise<SnapshottedStep> {
  const deps = { cache: ws.statCache, pool: ws.hashPool };
  const sourceDir = step.sourceDirectory === undefined ? undefined : resolve(step.sourceDirectory);
  const snapshot = sourceDir === undefined ? undefined : await sharedIn(scope.sources, sourceDir, () => snapshotSource(sourceDir, deps, ws.blobs));
  const source = snapshot ? Object.fromEntries(snapshot.files) : {};
  if (step instanceof ScriptStep && !(step.scriptName in source)) {
    throw new SubmitError({ reason: "script-missing", step: step.name, script: step.scriptName, sourceDir, folderEmpty: !(snapshot && snapshot.files.size > 0) });
  }
  const hashPaths: Record<string, string> = {};
  for (const p of step.hashPaths) {
    const abs = isAbsolute(p) ? p : join(sourceDir ?? process.cwd(), p);
    const tree = await hashTree(abs, deps).catch(() => {
      throw new SubmitError({ reason: "hash-path-missing", step: step.name, entry: p, path: abs });
    });
    for (const [rel, d] of tree.files) hashPaths[rel === "" ? p : `${p}/${rel}`] = d;
  }
  return { step, manifest: snapshot?.manifest, source, hashPaths };
}

/**
 * A ModuleStep's version, as the workspace has it now (another process may have disabled it
 * since the step was declared): a disabled or vanished version refuses the submit naming the
 * module and version; a deprecated one is said once per submit through `progress`.
 */
export function checkModuleVersion(ws: Workspace, step: ModuleStep, progress: PrepareProgress): void {
  const { name: module, version, digest } = step.moduleRef;
  const now = ws.modules.version(module, version);
  if (!now || now.digest !== digest) {
    throw new SubmitError({ reason: "module-version-unknown", step: step.name, module, version });
  }
  const whole = ws.modules.get(module)?.state;
  if (whole === "disabled") {
    throw new SubmitError({ reason: "module-disabled", step: step.name, module });
  }
  if (now.state === "disabled") {
    throw new SubmitError({ reason: "module-version-disabled", step: step.name, module, version });
  }
  if (whole === "deprecated") progress(step.name, `warning: module "${module}" is deprecated`);
  if (now.state === "deprecated") progress(step.name, `warning: module "${module}" version "${version}" is deprecated`);
}

/**
 * The data a step reads exists now: a dataset's paths, a DataReference's file or folder. Checked
 * at every submit (a published pipeline's too: its data may have gone since), so a missing input
 * fails the submit with the step's and the input's names, never the run with a path and a syscall.
 */
export async function checkInputs(ws: Workspace, step: PipelineStep): Promise<void> {
  for (const input of step.inputs) {
    if (input instanceof DatasetInput) {
      await input.dataset.check(ws).catch((err: unknown) => {
        throw err instanceof PipebookError
          ? new SubmitError({ reason: "input-unavailable", step: step.name, input: input.name, what: "dataset input", code: err.code, problem: err.message, ...(err.failure && { failure: err.failure }) })
          : err;
      });
    }
    // A blob datastore is asked (one listing): wrong credentials or an unreachable account fail the submit too.
    if (input instanceof DataReference && !(await (input.datastore.kind === "local" ? stat(input.path).then(() => true, () => false) : input.datastore.exists(input.pathOnDatastore).catch((err: unknown) => {
      throw new SubmitError({ reason: "input-unavailable", step: step.name, input: input.name, what: "DataReference", code: "datastore-error", problem: err instanceof Error ? err.message : String(err), ...(err instanceof PipebookError && err.failure && { failure: err.failure }) });
    })))) {
      throw new SubmitError({ reason: "data-reference-missing", step: step.name, input: input.name, path: input.pathOnDatastore, datastore: input.datastore.name });
    }
  }
}

/**
 * Asks the step's target whether it can run the step and to resolve its environment: an
 * unreachable engine, a missing image or package, or a resource the target lacks fails the
 * submit here, with the target's sentence, never inside the run.
 */
export async function prepareEnvironment(ws: Workspace, step: PipelineStep, progress: PrepareProgress, scope?: PrepareScope): Promise<{ compute: Compute; environment: ResolvedEnvironment }> {
  const compute = ws.getComputeTarget(step.computeTarget);
  if (!compute) throw new SubmitError({ reason: "compute-unknown", step: step.name, computeTarget: step.computeTarget, known: [...(ws.computeTargetNames ?? [])].sort() });
  const { gpus, cpus, memoryMb } = step.runconfig;
  const environment = await compute.prepare(
    {
      stepName: step.name, kind: step.kind, environment: step.environment.spec,
      resources: { gpus, ...(cpus !== undefined && { cpus }), ...(memoryMb !== undefined && { memoryMb }), ...(step.timeoutSeconds !== undefined && { timeoutSeconds: step.timeoutSeconds }) },
    },
    (line) => progress(step.name, line),
    scope,
  );
  return { compute, environment };
}
