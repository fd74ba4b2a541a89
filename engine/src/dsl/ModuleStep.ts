import { ModuleError } from "./ModuleFailure.js";
import type { StepKind } from "../contract/runView.js";
import { isStepData, PipelineData, type StepData } from "./data.js";
import { Environment } from "./Environment.js";
import { Module, ModuleVersion } from "./Module.js";
import { PipelineStep, type CommonStepOptions, type StepArgument } from "./steps.js";
import { StepError } from "./StepFailure.js";

export interface ModuleStepOptions extends Omit<CommonStepOptions, "name" | "inputs" | "outputs" | "hashPaths"> {
  /** The step's name in the pipeline; by default the module's name. */
  readonly name?: string;
  /** A module (its default version, or `version`) or one version of it. */
  readonly module: Module | ModuleVersion;
  readonly version?: string;
  /** Data for each input port the version declares: the program gets `--PORT PATH`. */
  readonly inputs?: Readonly<Record<string, StepData>>;
  /** Data for each output port the version declares. */
  readonly outputs?: Readonly<Record<string, PipelineData>>;
}

const OWN_OPTIONS = ["name", "module", "version", "inputs", "outputs", "arguments", "computeTarget", "runconfig", "allowReuse", "timeoutSeconds", "maxRetries", "excludeFromKey", "parameters"];

/**
 * A step that runs a published module version (the seeds' ModuleStep): its code is the
 * version's snapshot, not a local folder, so every pipeline using the version runs the same
 * code. The version's content digest is part of the step's key, and whether the version is
 * disabled or deprecated is checked again at every submit.
 */
export class ModuleStep extends PipelineStep {
  readonly kind: StepKind;
  readonly moduleVersion: ModuleVersion;

  constructor(options: ModuleStepOptions);
  /** @internal rebuilding a recorded step: arguments already hold the ports' flags. */
  constructor(options: ModuleStepOptions, recorded: { inputs: readonly StepData[]; outputs: readonly PipelineData[]; arguments: readonly StepArgument[] });
  constructor(options: ModuleStepOptions, recorded?: { inputs: readonly StepData[]; outputs: readonly PipelineData[]; arguments: readonly StepArgument[] }) {
    const unknown = Object.keys(options).filter((k) => !OWN_OPTIONS.includes(k));
    const label = options.name ?? (options.module instanceof Module ? options.module.name : options.module?.module);
    if (unknown.length > 0) {
      throw new StepError({ reason: "options-unknown", step: String(label), unknown, stepKind: "ModuleStep", takes: OWN_OPTIONS });
    }
    if (!(options.module instanceof Module) && !(options.module instanceof ModuleVersion)) {
      throw new StepError({ reason: "module-invalid", step: String(label) });
    }
    const mv = options.module instanceof Module ? options.module.resolve(options.version) : options.module;
    if (options.module instanceof ModuleVersion && options.version !== undefined && options.version !== mv.version) {
      throw new StepError({ reason: "module-version-clash", step: String(label), module: mv.module, version: mv.version, asked: options.version });
    }
    const name = options.name ?? mv.module;
    const { inputs, outputs, args } = recorded ? { inputs: [...recorded.inputs], outputs: [...recorded.outputs], args: [...recorded.arguments] } : mapPorts(name, mv, options);
    const { module: _m, version: _v, ...common } = options;
    super({ ...common, name, inputs, outputs, arguments: args }, undefined, []);
    this.kind = mv.definition.kind;
    this.moduleVersion = mv;
  }

  get environment(): Environment {
    return this.runconfig.environment ?? (this.kind === "python" ? Environment.python() : this.kind === "node" ? Environment.node() : Environment.system());
  }

  /** What a step's key and `why` name: the module, the version and its content digest. */
  get moduleRef(): { readonly name: string; readonly version: string; readonly digest: string } {
    return { name: this.moduleVersion.module, version: this.moduleVersion.version, digest: this.moduleVersion.digest };
  }
}

/** Every declared port gets data and nothing else does; the program's command line starts with `--PORT PATH` per port. */
function mapPorts(name: string, mv: ModuleVersion, options: ModuleStepOptions): { inputs: StepData[]; outputs: PipelineData[]; args: StepArgument[] } {
  const step = { name, module: mv.module, version: mv.version };
  const givenIn = options.inputs ?? {};
  const givenOut = options.outputs ?? {};
  const { inputs: inPorts, outputs: outPorts } = mv.definition;
  for (const port of Object.keys(givenIn)) {
    if (!inPorts.includes(port)) throw new ModuleError({ reason: "port-unknown", step, direction: "input", port, ports: inPorts });
    if (!isStepData(givenIn[port])) throw new ModuleError({ reason: "port-data-invalid", step, direction: "input", port });
  }
  for (const port of Object.keys(givenOut)) {
    if (!outPorts.includes(port)) throw new ModuleError({ reason: "port-unknown", step, direction: "output", port, ports: outPorts });
    if (!(givenOut[port] instanceof PipelineData)) throw new ModuleError({ reason: "port-data-invalid", step, direction: "output", port });
  }
  const missing = [...inPorts.filter((p) => !(p in givenIn)), ...outPorts.filter((p) => !(p in givenOut))];
  if (missing.length > 0) throw new ModuleError({ reason: "ports-unfed", step, ports: missing });
  const inputs = inPorts.map((p) => givenIn[p]!);
  const outputs = outPorts.map((p) => givenOut[p]!);
  const args: StepArgument[] = [];
  for (const p of inPorts) args.push(`--${p}`, givenIn[p]!);
  for (const p of outPorts) args.push(`--${p}`, givenOut[p]!);
  args.push(...(options.arguments ?? []));
  return { inputs, outputs, args };
}

