import { statSync } from "node:fs";
import type { JobInput, JobProgram, StepJob } from "../compute/StepJob.js";
import { DataReference } from "../dsl/data.js";
import { DatasetInput, type DatasetContentRef } from "../dsl/Dataset.js";
import { CommandStep, NodeScriptStep, PythonScriptStep, type PipelineStep } from "../dsl/steps.js";
import { ModuleStep } from "../dsl/ModuleStep.js";
import { envKey } from "../compute/resolveJob.js";
import type { AzureBlobDatastore, RemoteContent } from "../datastores/AzureBlobDatastore.js";
import { hashTree } from "../fingerprint/hashTree.js";
import type { PreparedStep } from "./prepareStep.js";
import type { RunContext } from "./runStep.js";
import { jobArgument } from "./stepKey.js";

/** An input as known before the reuse decision: its digest always; where it lies only when that costs nothing. */
export interface KnownInput {
  readonly name: string;
  readonly digest: string;
  /** A file or folder on this machine (datastore paths, upstream outputs). */
  readonly path?: string;
  /** Which of the two, where the upstream step found out while hashing its output. */
  readonly layout?: "file" | "folder";
  /** A path on a blob datastore, with the content its digest was made from: copied here only for a step that runs. */
  readonly remote?: { readonly store: AzureBlobDatastore; readonly path: string; readonly content: RemoteContent };
  /** A dataset, laid out only for a step that runs. */
  readonly dataset?: { readonly input: DatasetInput; readonly content: DatasetContentRef };
}

/** The content digest of every input: what the reuse key needs, and nothing more. */
export async function resolveInputs(ctx: RunContext, p: PreparedStep): Promise<KnownInput[]> {
  const { ws } = ctx;
  const out: KnownInput[] = [];
  for (const input of p.step.inputs) {
    if (input instanceof DataReference && input.datastore.kind === "azure-blob") {
      // Digested from the blobs' Content-MD5 (a listing): an unchanged remote input costs no download.
      const content = await input.datastore.content(input.pathOnDatastore);
      out.push({ name: input.name, digest: content.digest, remote: { store: input.datastore, path: input.pathOnDatastore, content } });
    } else if (input instanceof DataReference) {
      const tree = await hashTree(input.path, { cache: ws.statCache, pool: ws.hashPool });
      out.push({ name: input.name, digest: tree.digest, path: input.path });
    } else if (input instanceof DatasetInput) {
      const content = await input.dataset.content(ws);
      out.push({ name: input.name, digest: content.digest, dataset: { input, content } });
    } else {
      const produced = ctx.data.get(input.name);
      if (!produced) throw new Error(`bug: input ${input.name} of ${p.step.name} has no producer result`);
      out.push({ name: input.name, digest: produced.digest, path: produced.path, ...(produced.layout && { layout: produced.layout }) });
    }
  }
  return out;
}

/**
 * The self-contained job of a step that runs: program, arguments with placeholders, inputs by
 * digest and layout, the step's own variables, resources and the resolved environment.
 */
export async function buildStepJob(ctx: RunContext, p: PreparedStep, stepRunId: string, inputs: readonly KnownInput[]): Promise<StepJob> {
  const step = p.step;
  const jobInputs: JobInput[] = [];
  for (const i of inputs) {
    if (i.remote) {
      const source = await i.remote.store.localCopy(i.remote.path, i.remote.content);
      jobInputs.push({ name: i.name, digest: i.digest, layout: i.remote.content.layout, source });
    } else if (i.dataset) {
      const shared = await i.dataset.input.dataset.layOut(ctx.ws, i.dataset.content);
      jobInputs.push({ name: i.name, digest: i.digest, layout: i.dataset.input.mode === "mount" ? "mount" : "download", source: shared });
    } else {
      jobInputs.push({ name: i.name, digest: i.digest, layout: i.layout ?? (statSync(i.path!).isDirectory() ? "folder" : "file"), source: i.path! });
    }
  }
  const env: Record<string, string> = {
    ...step.environment.envVars,
    PIPEBOOK_RUN_ID: ctx.runId,
    PIPEBOOK_STEP_RUN_ID: stepRunId,
    PIPEBOOK_STEP_NAME: step.name,
    PIPEBOOK_EXPERIMENT: ctx.experiment,
  };
  for (const param of step.parameters) env[`PIPEBOOK_PARAM_${envKey(param.name)}`] = String(ctx.parameters[param.name] ?? param.defaultValue);
  const { gpus, cpus, memoryMb } = step.runconfig;
  return {
    runId: ctx.runId,
    stepRunId,
    stepName: step.name,
    experiment: ctx.experiment,
    kind: step.kind,
    program: programOf(step),
    args: step.arguments.map((a) => jobArgument(a, ctx.parameters, step)),
    snapshot: p.manifest,
    inputs: jobInputs,
    outputs: step.outputs.map((o) => o.name),
    env,
    resources: { gpus, ...(cpus !== undefined && { cpus }), ...(memoryMb !== undefined && { memoryMb }), ...(step.timeoutSeconds !== undefined && { timeoutSeconds: step.timeoutSeconds }) },
    environment: p.environment,
  };
}

function programOf(step: PipelineStep): JobProgram {
  if (step instanceof PythonScriptStep) return { kind: "python", script: step.scriptName };
  if (step instanceof NodeScriptStep) return { kind: "node", script: step.scriptName };
  if (step instanceof CommandStep) return typeof step.command === "string" ? { kind: "shell", command: step.command } : { kind: "exec", argv: step.command };
  if (step instanceof ModuleStep) {
    const { kind, scriptName, command } = step.moduleVersion.definition;
    if ((kind === "python" || kind === "node") && scriptName !== undefined) return { kind, script: scriptName };
    if (kind === "command" && command !== undefined) return typeof command === "string" ? { kind: "shell", command } : { kind: "exec", argv: command };
  }
  throw new Error(`bug: no program for step kind ${step.kind}`);
}
