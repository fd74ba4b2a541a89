import type { ParameterValue } from "../contract/runView.js";
import { DataReference, OutputFileDatasetConfig, PipelineData } from "../dsl/data.js";
import { DatasetInput } from "../dsl/Dataset.js";
import { PipelineParameter } from "../dsl/PipelineParameter.js";
import { CommandStep, ScriptStep, type PipelineStep } from "../dsl/steps.js";
import { ModuleStep } from "../dsl/ModuleStep.js";
import type { Compute } from "../compute/Compute.js";
import type { JobArg, ResolvedEnvironment } from "../compute/StepJob.js";
import { KEY_SCHEMA, keyDigest, type KeyComponents } from "../fingerprint/KeyComponents.js";
import type { Digest } from "../fingerprint/digest.js";
import { unreachable } from "../errors/PipebookError.js";

export interface KeyInputs {
  readonly step: PipelineStep;
  readonly source: Readonly<Record<string, string>>;
  readonly hashPaths: Readonly<Record<string, string>>;
  readonly parameters: Readonly<Record<string, ParameterValue>>;
  /** Input name → content digest. */
  readonly inputDigests: Readonly<Record<string, string>>;
  /** The environment as the target resolved it at submit (interpreter version, image digest, packages). */
  readonly environment: ResolvedEnvironment;
  readonly compute: Compute;
}

/** Builds the documented key object of a step (see KeyComponents for why each part is there). */
export function stepKey(k: KeyInputs): { components: KeyComponents; digest: Digest } {
  const { step } = k;
  const excluded = new Set(step.excludeFromKey);
  const keep = <T>(record: Readonly<Record<string, T>>): Record<string, T> =>
    Object.fromEntries(Object.entries(record).filter(([name]) => !excluded.has(name)));
  const environment: Record<string, unknown> = { ...k.environment.key, envVars: keep(step.environment.envVars) };
  const stepParams = Object.fromEntries(step.parameters.map((p) => [p.name, k.parameters[p.name] ?? p.defaultValue]));
  const components: KeyComponents = {
    schema: KEY_SCHEMA,
    kind: step.kind,
    program: programOf(step),
    source: k.source,
    arguments: step.arguments.map((a) => symbolicArgument(a, step)),
    parameters: keep(stepParams),
    inputs: keep(k.inputDigests),
    outputs: step.outputs.map(outputKey).sort(),
    environment,
    // cpus and memoryMb are reservations and limits, not inputs: a step given more memory computes the same.
    compute: { ...k.compute.keyFields(), gpus: step.runconfig.gpus },
    hashPaths: k.hashPaths,
    ...(step instanceof ModuleStep && { module: step.moduleRef }),
  };
  return { components, digest: keyDigest(components) };
}

/**
 * An output as it enters the key: its name; an OutputFileDatasetConfig's also where it goes and
 * what it is registered as, so changing those reruns the step (which uploads and registers).
 */
function outputKey(o: PipelineData): string {
  if (!(o instanceof OutputFileDatasetConfig)) return o.name;
  const d = o.delivery;
  const dest = d.destination ? `${d.destination[0].name}:${d.destination[1]}` : "default";
  const reg = d.registration ? ` registered as ${d.registration.name}${d.tabular ? " (tabular)" : ""}` : "";
  return `${o.name} → ${dest}${d.overwrite ? " (overwrite)" : ""}${reg}`;
}

function programOf(step: PipelineStep): string {
  if (step instanceof ScriptStep) return step.scriptName;
  if (step instanceof CommandStep) return typeof step.command === "string" ? step.command : JSON.stringify(step.command);
  if (step instanceof ModuleStep) {
    const { scriptName, command } = step.moduleVersion.definition;
    return scriptName ?? (typeof command === "string" ? command : JSON.stringify(command));
  }
  return step.kind;
}

/** An argument as it enters the key: data and parameters by name (their content and values are keyed on their own). */
export function symbolicArgument(a: PipelineStep["arguments"][number], step: PipelineStep): string {
  if (a instanceof PipelineParameter) return `{param:${a.name}}`;
  if (a instanceof PipelineData) return step.outputs.includes(a) ? `{output:${a.name}}` : `{input:${a.name}}`;
  if (a instanceof DataReference || a instanceof DatasetInput) return `{input:${a.name}}`;
  if (typeof a === "string" || typeof a === "number" || typeof a === "boolean") return String(a);
  return unreachable(a);
}

/** An argument as a compute target receives it: data as a placeholder its target resolves, parameters by value. */
export function jobArgument(a: PipelineStep["arguments"][number], params: Readonly<Record<string, ParameterValue>>, step: PipelineStep): JobArg {
  if (a instanceof PipelineData) return { kind: step.outputs.includes(a) ? "output" : "input", name: a.name };
  if (a instanceof DataReference || a instanceof DatasetInput) return { kind: "input", name: a.name };
  if (a instanceof PipelineParameter) return { kind: "text", value: String(params[a.name] ?? a.defaultValue) };
  return { kind: "text", value: symbolicArgument(a, step) };
}
