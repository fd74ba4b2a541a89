import { FailureError, unreachable, type PipebookErrorCode } from "../errors/PipebookError.js";

/**
 * Expected failures of the remaining declarations (pipebook.json, compute targets, experiments,
 * a pipeline's parameters), as data; `describeDeclarationFailure` words them. `problems` are the
 * schema's findings, one `field: message` each, listed under the sentence.
 */
export type DeclarationFailure =
  | { readonly reason: "config-unreadable"; readonly file: string; readonly message: string }
  | { readonly reason: "config-invalid"; readonly file: string; readonly problems: readonly string[] }
  | { readonly reason: "compute-name-invalid"; readonly name: string }
  | { readonly reason: "compute-config-invalid"; readonly name: string; readonly problems: readonly string[] }
  | { readonly reason: "compute-unknown"; readonly name: string; readonly known: readonly string[] }
  | { readonly reason: "experiment-name-invalid"; readonly name: string }
  | { readonly reason: "workspace-mismatch"; readonly pipelineWorkspace: string; readonly experimentWorkspace: string }
  | { readonly reason: "parameter-clash"; readonly name: string; readonly defaults: readonly [unknown, unknown] };

export class DeclarationError extends FailureError<DeclarationFailure> {
  constructor(failure: DeclarationFailure) {
    super(declarationFailureCode(failure), failure, describeDeclarationFailure(failure), "problems" in failure ? failure.problems : []);
  }
}

function declarationFailureCode(f: DeclarationFailure): PipebookErrorCode {
  switch (f.reason) {
    case "config-unreadable":
    case "config-invalid":
    case "compute-name-invalid":
    case "compute-config-invalid":
      return "config-invalid";
    case "compute-unknown":
      return "compute-unknown";
    case "experiment-name-invalid":
    case "workspace-mismatch":
      return "step-invalid";
    case "parameter-clash":
      return "parameter-invalid";
    default:
      return unreachable(f);
  }
}

export function describeDeclarationFailure(f: DeclarationFailure): string {
  switch (f.reason) {
    case "config-unreadable":
      return `cannot read ${f.file}: ${f.message}`;
    case "config-invalid":
      return `${f.file} is not a valid pipebook.json:`;
    case "compute-name-invalid":
      return `compute target name "${f.name}" must start with a letter or _ and hold only letters, digits, _ and -`;
    case "compute-config-invalid":
      return `compute target "${f.name}" is not valid:`;
    case "compute-unknown":
      return `the workspace has no compute target "${f.name}" (known: ${f.known.join(", ")})`;
    case "experiment-name-invalid":
      return `experiment name "${f.name}" must start with a letter or digit and hold only letters, digits, _ . -`;
    case "workspace-mismatch":
      return `the pipeline belongs to workspace ${f.pipelineWorkspace}, the experiment to ${f.experimentWorkspace}`;
    case "parameter-clash":
      return `two different parameters are named "${f.name}" (defaults ${JSON.stringify(f.defaults[0])} and ${JSON.stringify(f.defaults[1])}); use one PipelineParameter object`;
    default:
      return unreachable(f);
  }
}
