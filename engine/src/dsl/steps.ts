import { STEP_NAME_PATTERN } from "../contract/names.js";
import type { StepKind } from "../contract/runView.js";
import { isStepData, type StepData, PipelineData } from "./data.js";
import { RunConfiguration, Environment } from "./Environment.js";
import { PipelineParameter } from "./PipelineParameter.js";
import { StepError } from "./StepFailure.js";

/** One element of a step's command line: text, data (replaced by its path) or a parameter (by its value). */
export type StepArgument = string | number | boolean | StepData | PipelineParameter;

export interface CommonStepOptions {
  readonly name: string;
  readonly arguments?: readonly StepArgument[];
  readonly inputs?: readonly StepData[];
  readonly outputs?: readonly PipelineData[];
  /** Name of a compute target of the workspace; "local" by default. */
  readonly computeTarget?: string;
  readonly runconfig?: RunConfiguration;
  /** Reuse an earlier identical run of this step (default true). */
  readonly allowReuse?: boolean;
  /** Files or folders (relative to the source directory) hashed into the key besides the snapshot. */
  readonly hashPaths?: readonly string[];
  /** Kill the step after this many seconds. */
  readonly timeoutSeconds?: number;
  /**
   * Runs the step again, up to this many times, when whatever ran it was lost while it ran (an
   * agent killed or gone past its grace, a launcher that died): default 0. A step that failed by
   * itself (an exit code, a timeout) is never retried. Not in the reuse key.
   */
  readonly maxRetries?: number;
  /**
   * Names of inputs, parameters or env vars left out of the reuse key (kubeflow#7241):
   * for values that do not change results, such as a log level.
   */
  readonly excludeFromKey?: readonly string[];
  /** Parameters the step reads from its environment (PIPEBOOK_PARAM_NAME) without naming them in arguments. */
  readonly parameters?: readonly PipelineParameter[];
}

export interface ScriptStepOptions extends CommonStepOptions {
  readonly scriptName: string;
  readonly sourceDirectory: string | URL;
}

export interface CommandStepOptions extends CommonStepOptions {
  /** A shell command line (string, run by /bin/sh) or an argv array. `arguments` are appended. */
  readonly command: string | readonly string[];
  readonly sourceDirectory?: string | URL;
}

const COMMON_OPTIONS = ["name", "arguments", "inputs", "outputs", "computeTarget", "runconfig", "allowReuse", "hashPaths", "timeoutSeconds", "maxRetries", "excludeFromKey", "parameters"];

/**
 * An option a step does not know is refused, not ignored: from JavaScript (no type check) a
 * misspelt or invented option (`runAfter`) would otherwise look accepted and do nothing.
 */
function refuseUnknownOptions(options: object, known: readonly string[]): void {
  const name = (options as { name?: unknown }).name;
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new StepError({ reason: "options-unknown", step: String(name), unknown, stepKind: "step", takes: known });
  }
}

/** What every step kind shares; the engine reads steps only through these fields. */
export abstract class PipelineStep {
  abstract readonly kind: StepKind;
  readonly name: string;
  readonly arguments: readonly StepArgument[];
  readonly inputs: readonly StepData[];
  readonly outputs: readonly PipelineData[];
  readonly computeTarget: string;
  readonly runconfig: RunConfiguration;
  readonly allowReuse: boolean;
  readonly hashPaths: readonly string[];
  readonly timeoutSeconds: number | undefined;
  readonly maxRetries: number;
  readonly excludeFromKey: readonly string[];
  readonly sourceDirectory: string | undefined;
  private readonly declaredParameters: readonly PipelineParameter[];

  protected constructor(options: CommonStepOptions, sourceDirectory: string | URL | undefined, ownOptions: readonly string[]) {
    refuseUnknownOptions(options, [...COMMON_OPTIONS, ...ownOptions]);
    if (!STEP_NAME_PATTERN.test(options.name ?? "")) {
      throw new StepError({ reason: "step-name-invalid", name: String(options.name) });
    }
    this.name = options.name;
    this.arguments = [...(options.arguments ?? [])];
    this.outputs = [...(options.outputs ?? [])];
    // Data used in arguments is an input unless the step produces it.
    const inputs = [...(options.inputs ?? [])];
    for (const a of this.arguments) {
      if (isStepData(a) && !this.outputs.includes(a as PipelineData) && !inputs.includes(a)) inputs.push(a);
    }
    this.inputs = inputs;
    this.computeTarget = options.computeTarget ?? "local";
    this.runconfig = options.runconfig ?? new RunConfiguration();
    this.allowReuse = options.allowReuse ?? true;
    this.hashPaths = [...(options.hashPaths ?? [])];
    this.excludeFromKey = [...(options.excludeFromKey ?? [])];
    this.declaredParameters = [...(options.parameters ?? [])];
    if (options.timeoutSeconds !== undefined && !(options.timeoutSeconds > 0)) {
      throw new StepError({ reason: "timeout-invalid", step: options.name });
    }
    this.timeoutSeconds = options.timeoutSeconds;
    if (options.maxRetries !== undefined && !(Number.isInteger(options.maxRetries) && options.maxRetries >= 0 && options.maxRetries <= 5)) {
      throw new StepError({ reason: "retries-invalid", step: options.name });
    }
    this.maxRetries = options.maxRetries ?? 0;
    this.sourceDirectory = sourceDirectory === undefined ? undefined : sourceDirectory instanceof URL ? sourceDirectory.pathname : sourceDirectory;
  }

  /** Parameters this step reads, from its arguments or declared; only these enter its key. */
  get parameters(): PipelineParameter[] {
    const all = [...this.declaredParameters, ...this.arguments.filter((a): a is PipelineParameter => a instanceof PipelineParameter)];
    return [...new Set(all)];
  }

  /** The environment, defaulting to the one the step kind implies. */
  abstract get environment(): Environment;
}

/** A step that runs one script file of its snapshotted source folder. */
export abstract class ScriptStep extends PipelineStep {
  readonly scriptName: string;

  constructor(options: ScriptStepOptions) {
    super(options, options.sourceDirectory, ["scriptName", "sourceDirectory"]);
    if (!options.scriptName) throw new StepError({ reason: "script-name-missing", step: options.name });
    this.scriptName = options.scriptName;
  }
}

/** Runs `scriptName` from `sourceDirectory` with a Python interpreter. */
export class PythonScriptStep extends ScriptStep {
  readonly kind = "python" as const;

  get environment(): Environment {
    return this.runconfig.environment ?? Environment.python();
  }
}

/** Runs a Node script (.js/.mjs, or .ts through tsx) from `sourceDirectory`. */
export class NodeScriptStep extends ScriptStep {
  readonly kind = "node" as const;

  get environment(): Environment {
    return this.runconfig.environment ?? Environment.node();
  }
}

/** Runs a shell command (or argv), optionally in a snapshotted source folder. */
export class CommandStep extends PipelineStep {
  readonly kind = "command" as const;
  readonly command: string | readonly string[];

  constructor(options: CommandStepOptions) {
    super(options, options.sourceDirectory, ["command", "sourceDirectory"]);
    if (typeof options.command === "string" ? options.command.trim() === "" : options.command.length === 0) {
      throw new StepError({ reason: "command-empty", step: options.name });
    }
    this.command = typeof options.command === "string" ? options.command : [...options.command];
  }

  get environment(): Environment {
    return this.runconfig.environment ?? Environment.system();
  }
}
