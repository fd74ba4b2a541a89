import { FailureError, unreachable, type PipebookErrorCode } from "../errors/PipebookError.js";

/** Expected failures of modules (create, publish, versions) and of ModuleSteps' ports, as data. */
export type ModuleFailure =
  | { readonly reason: "name-invalid"; readonly name: string }
  | { readonly reason: "name-taken"; readonly name: string }
  | { readonly reason: "module-unknown"; readonly name: string }
  | { readonly reason: "no-versions"; readonly module: string }
  | { readonly reason: "version-unknown"; readonly module: string; readonly version: string; readonly known: readonly string[] }
  | { readonly reason: "command-empty"; readonly module: string }
  | { readonly reason: "default-disabled"; readonly module: string; readonly version: string }
  | { readonly reason: "option-required"; readonly module: string; readonly option: "scriptName" | "sourceDirectory" }
  | { readonly reason: "version-name-invalid"; readonly module: string; readonly version: string }
  | { readonly reason: "port-name-invalid"; readonly module: string; readonly port: string }
  | { readonly reason: "port-twice"; readonly module: string; readonly port: string }
  | { readonly reason: "script-missing"; readonly module: string; readonly script: string; readonly sourceDir: string | undefined }
  | { readonly reason: "version-changed"; readonly module: string; readonly version: string }
  | { readonly reason: "port-unknown"; readonly step: StepOfModule; readonly direction: "input" | "output"; readonly port: string; readonly ports: readonly string[] }
  | { readonly reason: "port-data-invalid"; readonly step: StepOfModule; readonly direction: "input" | "output"; readonly port: string }
  | { readonly reason: "ports-unfed"; readonly step: StepOfModule; readonly ports: readonly string[] };

/** A ModuleStep as its failures name it. */
export interface StepOfModule {
  readonly name: string;
  readonly module: string;
  readonly version: string;
}

export class ModuleError extends FailureError<ModuleFailure> {
  constructor(failure: ModuleFailure) {
    super(moduleFailureCode(failure), failure, describeModuleFailure(failure));
  }
}

function moduleFailureCode(f: ModuleFailure): PipebookErrorCode {
  switch (f.reason) {
    case "module-unknown":
    case "no-versions":
    case "version-unknown":
      return "not-found";
    case "script-missing":
      return "script-missing";
    default:
      return "step-invalid";
  }
}

const quoted = (names: readonly string[]): string => names.map((p) => `"${p}"`).join(", ");
const stepLabel = (s: StepOfModule): string => `step ${s.name} (module "${s.module}" version "${s.version}")`;

export function describeModuleFailure(f: ModuleFailure): string {
  switch (f.reason) {
    case "name-invalid":
      return `module name "${f.name}" must start with a letter or digit and hold only letters, digits, _ . - (at most 128)`;
    case "name-taken":
      return `module "${f.name}" already exists in this workspace; use Module.get(ws, "${f.name}") to publish a new version of it`;
    case "module-unknown":
      return `no module named "${f.name}" exists in this workspace`;
    case "no-versions":
      return `module "${f.module}" has no versions yet; publish one first`;
    case "version-unknown":
      return `module "${f.module}" has no version "${f.version}" (it has ${f.known.length > 0 ? quoted(f.known) : "none"})`;
    case "command-empty":
      return `module "${f.module}": command is empty`;
    case "default-disabled":
      return `module "${f.module}" version "${f.version}" is disabled and cannot be the default; enable it first`;
    case "option-required":
      return `module "${f.module}": ${f.option} is required`;
    case "version-name-invalid":
      return `module "${f.module}": version "${f.version}" must start with a letter or digit and hold only letters, digits, _ . - (at most 64)`;
    case "port-name-invalid":
      return `module "${f.module}": port name "${f.port}" must start with a letter or _ and hold only letters, digits and _`;
    case "port-twice":
      return `module "${f.module}": port "${f.port}" is declared twice`;
    case "script-missing":
      return `module "${f.module}": script "${f.script}" is not in its source directory ${f.sourceDir} (or it is ignored by .amlignore/.gitignore)`;
    case "version-changed":
      return `module "${f.module}" version "${f.version}" already exists with other content; a version never changes: publish it under a new version`;
    case "port-unknown":
      return `${stepLabel(f.step)}: it has no ${f.direction} port "${f.port}" (its ${f.direction}s: ${f.ports.length > 0 ? quoted(f.ports) : "none"})`;
    case "port-data-invalid":
      return f.direction === "input"
        ? `${stepLabel(f.step)}: input port "${f.port}" must be given data (PipelineData, DataReference or a dataset input)`
        : `${stepLabel(f.step)}: output port "${f.port}" must be given a PipelineData`;
    case "ports-unfed":
      return `${stepLabel(f.step)}: no data given for port${f.ports.length > 1 ? "s" : ""} ${quoted(f.ports)}`;
    default:
      return unreachable(f);
  }
}
