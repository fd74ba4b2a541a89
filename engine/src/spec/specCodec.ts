import { DataReference, OutputFileDatasetConfig, PipelineData, type StepData } from "../dsl/data.js";
import type { AnyDatastore } from "../dsl/Datastore.js";
import { DatasetInput, fromDefinition, fromVersion } from "../dsl/Dataset.js";
import { Environment, RunConfiguration } from "../dsl/Environment.js";
import { Pipeline } from "../dsl/Pipeline.js";
import { PipelineParameter } from "../dsl/PipelineParameter.js";
import { CommandStep, NodeScriptStep, PythonScriptStep, ScriptStep, type PipelineStep, type StepArgument } from "../dsl/steps.js";
import { Module } from "../dsl/Module.js";
import { ModuleStep } from "../dsl/ModuleStep.js";
import { DataTransferStep } from "../dsl/DataTransferStep.js";
import type { Workspace } from "../workspace/Workspace.js";
import { unreachable } from "../errors/PipebookError.js";
import { SpecError } from "./SpecFailure.js";
import { asDigest } from "../fingerprint/digest.js";
import { checkInputs, checkModuleVersion, prepareEnvironment, submitScope, type PrepareProgress, type PreparedStep, type SnapshottedStep } from "../runner/prepareStep.js";
import type { ArgumentSpec, DataSpec, OutputDeliverySpec, PipelineSpec, StepSpec } from "./PipelineSpec.js";

/** A step's OutputFileDatasetConfig outputs as data (none: nothing, so other steps' specs are unchanged). */
function deliveriesOf(step: PipelineStep): { deliveries?: Record<string, OutputDeliverySpec> } {
  const entries = step.outputs.filter((o): o is OutputFileDatasetConfig => o instanceof OutputFileDatasetConfig).map((o) => {
    const d = o.delivery;
    const spec: OutputDeliverySpec = {
      overwrite: d.overwrite,
      ...(d.destination && { destination: { datastore: d.destination[0].name, path: d.destination[1] } }),
      ...(d.registration && { registration: d.registration }),
      ...(d.tabular && { tabular: d.tabular }),
    };
    return [o.name, spec] as const;
  });
  return entries.length === 0 ? {} : { deliveries: Object.fromEntries(entries) };
}

function outputConfigOf(ws: Workspace, name: string, d: OutputDeliverySpec): OutputFileDatasetConfig {
  let destination: readonly [AnyDatastore, string] | undefined;
  if (d.destination) {
    const store = ws.getDatastore(d.destination.datastore);
    if (!store) throw new SpecError({ reason: "output-datastore-unknown", output: name, datastore: d.destination.datastore });
    destination = [store, d.destination.path];
  }
  const o = new OutputFileDatasetConfig({ name, ...(destination && { destination }) }).asUpload({ overwrite: d.overwrite });
  if (d.tabular) o.readDelimitedFiles(d.tabular);
  if (d.registration) o.registerOnComplete(d.registration.name, { description: d.registration.description });
  return o;
}

/** A DataTransferStep from its spec: the source is its one input, the destination its "--to store:path" argument. */
function transferStepOf(ws: Workspace, s: StepSpec, inputs: readonly StepData[]): DataTransferStep {
  const to = s.arguments[1]?.kind === "text" ? s.arguments[1].value : "";
  const colon = to.indexOf(":");
  const datastore = ws.getDatastore(to.slice(0, colon));
  if (!datastore) throw new SpecError({ reason: "transfer-datastore-unknown", step: s.name, datastore: to.slice(0, colon) });
  const source = inputs[0];
  if (!(source instanceof DataReference)) throw new SpecError({ reason: "transfer-source-invalid", step: s.name });
  const destination = new DataReference({ datastore, dataReferenceName: "destination", pathOnDatastore: to.slice(colon + 1) });
  return new DataTransferStep({ name: s.name, sourceDataReference: source, destinationDataReference: destination, allowReuse: s.allowReuse });
}

/** The DSL ↔ spec codec: a pipeline and its prepared steps as a PipelineSpec, and back. */
export function toPipelineSpec(pipeline: Pipeline, prepared: readonly SnapshottedStep[]): PipelineSpec {
  return {
    version: 1,
    description: pipeline.description,
    parameters: pipeline.parameters.map((p) => ({ name: p.name, defaultValue: p.defaultValue })),
    steps: prepared.map(({ step, manifest, source, hashPaths }) => ({
      name: step.name,
      kind: step.kind,
      ...(step instanceof ScriptStep && { scriptName: step.scriptName }),
      ...(step instanceof CommandStep && { command: step.command }),
      ...deliveriesOf(step),
      ...(step instanceof ModuleStep && { module: step.moduleRef }),
      ...(manifest && { manifest }),
      source,
      hashPaths,
      arguments: step.arguments.map(argumentSpec),
      inputs: step.inputs.map(dataSpec),
      outputs: step.outputs.map((o) => o.name),
      parameters: step.parameters.map((p) => p.name),
      computeTarget: step.computeTarget,
      environment: step.environment.spec,
      gpus: step.runconfig.gpus,
      ...(step.runconfig.cpus !== undefined && { cpus: step.runconfig.cpus }),
      ...(step.runconfig.memoryMb !== undefined && { memoryMb: step.runconfig.memoryMb }),
      allowReuse: step.allowReuse,
      ...(step.timeoutSeconds !== undefined && { timeoutSeconds: step.timeoutSeconds }),
      ...(step.maxRetries > 0 && { maxRetries: step.maxRetries }),
      excludeFromKey: step.excludeFromKey,
    })),
  };
}

function argumentSpec(a: StepArgument): ArgumentSpec {
  if (a instanceof PipelineParameter) return { kind: "param", name: a.name };
  if (a instanceof PipelineData || a instanceof DataReference || a instanceof DatasetInput) return { kind: "data", name: a.name };
  if (typeof a === "string" || typeof a === "number" || typeof a === "boolean") return { kind: "text", value: String(a) };
  return unreachable(a);
}

function dataSpec(d: StepData): DataSpec {
  if (d instanceof DataReference) return { kind: "data-reference", name: d.name, datastore: d.datastore.name, path: d.pathOnDatastore };
  if (d instanceof DatasetInput) {
    const basedOn = d.dataset.basedOn;
    return { kind: "dataset", name: d.name, mode: d.mode, definition: d.dataset.definition, ...(basedOn && { basedOn }) };
  }
  return { kind: "pipeline-data", name: d.name };
}

function datasetInputOf(ws: Workspace, d: Extract<DataSpec, { kind: "dataset" }>): DatasetInput {
  if (d.basedOn) {
    const version = ws.datasets.get(d.basedOn.name, d.basedOn.version);
    if (!version) throw new SpecError({ reason: "dataset-version-unknown", dataset: d.basedOn.name, version: d.basedOn.version });
    return new DatasetInput(d.name, fromVersion(ws, version, d.definition), d.mode);
  }
  return new DatasetInput(d.name, fromDefinition(ws, d.definition), d.mode);
}

/** Rebuilds runnable steps from a spec; their code comes from the snapshots, not from folders. */
export async function fromPipelineSpec(ws: Workspace, spec: PipelineSpec, progress: PrepareProgress): Promise<{ pipeline: Pipeline; prepared: PreparedStep[] }> {
  const params = new Map(spec.parameters.map((p) => [p.name, new PipelineParameter(p.name, p.defaultValue)]));
  const data = new Map<string, StepData>();
  const scope = submitScope();
  const dataOf = (d: DataSpec): StepData => {
    let found = data.get(d.name);
    if (!found) {
      if (d.kind === "data-reference") {
        const datastore = ws.getDatastore(d.datastore);
        if (!datastore) throw new SpecError({ reason: "input-datastore-unknown", datastore: d.datastore });
        found = new DataReference({ datastore, dataReferenceName: d.name, pathOnDatastore: d.path });
      } else if (d.kind === "dataset") {
        found = datasetInputOf(ws, d);
      } else found = new PipelineData(d.name);
      data.set(d.name, found);
    }
    return found;
  };
  // OutputFileDatasetConfig outputs first, so a consumer listed before its producer gets the same object.
  for (const s of spec.steps) for (const [name, d] of Object.entries(s.deliveries ?? {})) data.set(name, outputConfigOf(ws, name, d));
  const prepared: PreparedStep[] = [];
  for (const s of spec.steps) {
    const inputs = s.inputs.map(dataOf);
    const outputs = s.outputs.map((name) => dataOf({ kind: "pipeline-data", name }) as PipelineData);
    const paramOf = (name: string): PipelineParameter => {
      const p = params.get(name);
      if (!p) throw new SpecError({ reason: "parameter-undeclared", step: s.name, parameter: name });
      return p;
    };
    const args: StepArgument[] = s.arguments.map((a) => (a.kind === "text" ? a.value : a.kind === "param" ? paramOf(a.name) : data.get(a.name) ?? dataOf({ kind: "pipeline-data", name: a.name })));
    const common = {
      name: s.name, arguments: args, inputs, outputs, computeTarget: s.computeTarget,
      runconfig: new RunConfiguration({
        environment: Environment.fromSpec(s.environment), gpus: s.gpus,
        ...(s.cpus !== undefined && { cpus: s.cpus }), ...(s.memoryMb !== undefined && { memoryMb: s.memoryMb }),
      }),
      allowReuse: s.allowReuse, excludeFromKey: s.excludeFromKey, parameters: s.parameters.map(paramOf),
      ...(s.timeoutSeconds !== undefined && { timeoutSeconds: s.timeoutSeconds }),
      ...(s.maxRetries !== undefined && { maxRetries: s.maxRetries }),
    };
    const sourceDirectory = `snapshot:${s.manifest ?? "none"}`;
    const { inputs: _in, outputs: _out, arguments: _args, ...moduleCommon } = common;
    const step: PipelineStep = s.kind === "data-transfer"
      ? transferStepOf(ws, s, inputs)
      : s.module
      ? new ModuleStep({ ...moduleCommon, module: (await Module.get(ws, s.module.name)).resolve(s.module.version) }, { inputs, outputs, arguments: args })
      : s.kind === "python" ? new PythonScriptStep({ ...common, scriptName: s.scriptName!, sourceDirectory })
        : s.kind === "node" ? new NodeScriptStep({ ...common, scriptName: s.scriptName!, sourceDirectory })
          : new CommandStep({ ...common, command: s.command! });
    if (step instanceof ModuleStep) checkModuleVersion(ws, step, progress);
    await checkInputs(ws, step);
    prepared.push({
      step,
      manifest: s.manifest ? asDigest(s.manifest) : undefined,
      source: s.source,
      hashPaths: s.hashPaths,
      // Resolved again for this run: a re-tagged image or a rebuilt venv is noticed, as for any submit.
      ...(await prepareEnvironment(ws, step, progress, scope)),
    });
  }
  return { pipeline: new Pipeline(ws, { steps: prepared.map((p) => p.step), description: spec.description }), prepared };
}
