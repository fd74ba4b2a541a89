import { STEP_NAME_RULE } from "../contract/names.js";
import { FailureError, unreachable, type PipebookErrorCode } from "../errors/PipebookError.js";

/**
 * Expected failures of declaring steps and what they carry (options, environments, resources,
 * parameters, data), as data; `describeStepFailure` words them. Refused when the object is made.
 */
export type StepFailure =
  | { readonly reason: "options-unknown"; readonly step: string; readonly unknown: readonly string[]; readonly stepKind: "step" | "DataTransferStep" | "ModuleStep"; readonly takes: readonly string[] }
  | { readonly reason: "step-name-invalid"; readonly name: string }
  | { readonly reason: "timeout-invalid"; readonly step: string }
  | { readonly reason: "retries-invalid"; readonly step: string }
  | { readonly reason: "script-name-missing"; readonly step: string }
  | { readonly reason: "command-empty"; readonly step: string }
  | { readonly reason: "transfer-references-invalid"; readonly step: string }
  | { readonly reason: "transfer-to-root"; readonly step: string; readonly datastore: string }
  | { readonly reason: "module-invalid"; readonly step: string }
  | { readonly reason: "module-version-clash"; readonly step: string; readonly module: string; readonly version: string; readonly asked: string }
  | { readonly reason: "pip-package-invalid"; readonly package: string }
  | { readonly reason: "image-invalid"; readonly image: string }
  | { readonly reason: "resource-invalid"; readonly resource: "gpus" | "cpus" | "memoryMb"; readonly value: unknown }
  | { readonly reason: "parameter-name-invalid"; readonly problem: string }
  | { readonly reason: "parameter-default-type"; readonly name: string; readonly type: string }
  | { readonly reason: "parameter-default-invalid"; readonly problem: string }
  | { readonly reason: "output-destination-invalid"; readonly output: string }
  | { readonly reason: "output-destination-leaves"; readonly output: string; readonly path: string; readonly datastore: string }
  | { readonly reason: "data-name-invalid"; readonly kind: string; readonly name: string };

export class StepError extends FailureError<StepFailure> {
  constructor(failure: StepFailure) {
    super(stepFailureCode(failure), failure, describeStepFailure(failure));
  }
}

function stepFailureCode(f: StepFailure): PipebookErrorCode {
  return f.reason.startsWith("parameter-") ? "parameter-invalid" : "step-invalid";
}

export function describeStepFailure(f: StepFailure): string {
  switch (f.reason) {
    case "options-unknown":
      return `step ${f.step}: unknown option${f.unknown.length > 1 ? "s" : ""} ${f.unknown.map((k) => `"${k}"`).join(", ")} (a ${f.stepKind} takes ${f.takes.join(", ")})`;
    case "step-name-invalid":
      return `step name "${f.name}" ${STEP_NAME_RULE}`;
    case "timeout-invalid":
      return `step ${f.step}: timeoutSeconds must be a positive number`;
    case "retries-invalid":
      return `step ${f.step}: maxRetries must be a whole number from 0 to 5`;
    case "script-name-missing":
      return `step ${f.step}: scriptName is required`;
    case "command-empty":
      return `step ${f.step}: command is empty`;
    case "transfer-references-invalid":
      return `step ${f.step}: sourceDataReference and destinationDataReference must be DataReferences`;
    case "transfer-to-root":
      return `step ${f.step}: the destination must be a path on datastore ${f.datastore}, not its root`;
    case "module-invalid":
      return `step ${f.step}: module must be a Module (Module.get or Module.create) or one of its versions`;
    case "module-version-clash":
      return `step ${f.step}: module is version "${f.version}" of "${f.module}" but version says "${f.asked}"; give one of them`;
    case "pip-package-invalid":
      return `pip package "${f.package}" is not a requirement (options such as --index-url go in findLinks/indexUrl)`;
    case "image-invalid":
      return `docker image "${f.image}" is not an image name`;
    case "resource-invalid":
      switch (f.resource) {
        case "gpus":
          return `RunConfiguration gpus must be a whole number ≥ 0, got ${String(f.value)}`;
        case "cpus":
          return `RunConfiguration cpus must be a number > 0, got ${String(f.value)}`;
        case "memoryMb":
          return `RunConfiguration memoryMb must be a whole number of MiB ≥ 6, got ${String(f.value)}`;
        default:
          return unreachable(f.resource);
      }
    case "parameter-name-invalid":
      return `PipelineParameter: ${f.problem}`;
    case "parameter-default-type":
      return `PipelineParameter "${f.name}": default value must be a string, number or boolean, got ${f.type}`;
    case "parameter-default-invalid":
      return `PipelineParameter default: ${f.problem}`;
    case "output-destination-invalid":
      return `OutputFileDatasetConfig ${f.output}: destination must be [datastore, "path/on/datastore"] with a path that is not the datastore's root`;
    case "output-destination-leaves":
      return `OutputFileDatasetConfig ${f.output}: destination path "${f.path}" leaves datastore ${f.datastore}`;
    case "data-name-invalid":
      return `${f.kind} name "${f.name}" must start with a letter or _ and hold only letters, digits, _ . -`;
    default:
      return unreachable(f);
  }
}
