import { FailureError, unreachable, type Failure, type PipebookErrorCode } from "../errors/PipebookError.js";

/**
 * Expected failures of submitting a run (parameters, a step's source, module, inputs and compute
 * target, run options), as data; `describeSubmitFailure` words them.
 */
export type SubmitFailure =
  | { readonly reason: "parameters-invalid"; readonly problems: readonly string[] }
  | { readonly reason: "script-missing"; readonly step: string; readonly script: string; readonly sourceDir: string | undefined; readonly folderEmpty: boolean }
  | { readonly reason: "hash-path-missing"; readonly step: string; readonly entry: string; readonly path: string }
  | { readonly reason: "module-version-unknown"; readonly step: string; readonly module: string; readonly version: string }
  | { readonly reason: "module-disabled"; readonly step: string; readonly module: string }
  | { readonly reason: "module-version-disabled"; readonly step: string; readonly module: string; readonly version: string }
  /** A step's input cannot be read: `problem` is the sentence of what failed (`failure` its data, where it has some). */
  | { readonly reason: "input-unavailable"; readonly step: string; readonly input: string; readonly what: "dataset input" | "DataReference"; readonly code: PipebookErrorCode; readonly problem: string; readonly failure?: Failure }
  | { readonly reason: "data-reference-missing"; readonly step: string; readonly input: string; readonly path: string; readonly datastore: string }
  | { readonly reason: "compute-unknown"; readonly step: string; readonly computeTarget: string; readonly known: readonly string[] }
  | { readonly reason: "concurrency-invalid"; readonly concurrency: unknown };

export class SubmitError extends FailureError<SubmitFailure> {
  constructor(failure: SubmitFailure) {
    const many = failure.reason === "parameters-invalid" && failure.problems.length > 1;
    super(submitFailureCode(failure), failure, describeSubmitFailure(failure), many ? failure.problems : []);
  }
}

function submitFailureCode(f: SubmitFailure): PipebookErrorCode {
  switch (f.reason) {
    case "parameters-invalid":
      return "parameter-invalid";
    case "script-missing":
      return "script-missing";
    case "hash-path-missing":
    case "data-reference-missing":
      return "source-missing";
    case "module-version-unknown":
      return "not-found";
    case "module-disabled":
    case "module-version-disabled":
    case "concurrency-invalid":
      return "step-invalid";
    case "input-unavailable":
      return f.code;
    case "compute-unknown":
      return "compute-unknown";
    default:
      return unreachable(f);
  }
}

/** The sentence; for several parameter problems, the heading (`SubmitError` lists them under it). */
export function describeSubmitFailure(f: SubmitFailure): string {
  switch (f.reason) {
    case "parameters-invalid":
      return f.problems.length === 1 ? f.problems[0]! : "invalid parameter assignments:";
    case "script-missing":
      return `step "${f.step}": script "${f.script}" is not in its source directory ${f.sourceDir}` + (f.folderEmpty ? " (the folder is empty)" : ` (or it is ignored by .amlignore/.gitignore)`);
    case "hash-path-missing":
      return `step "${f.step}": hashPaths entry "${f.entry}" (${f.path}) does not exist`;
    case "module-version-unknown":
      return `step "${f.step}" uses module "${f.module}" version "${f.version}", which this workspace does not have`;
    case "module-disabled":
      return `step "${f.step}" uses module "${f.module}", which is disabled (every version of it); enable it or use another module`;
    case "module-version-disabled":
      return `step "${f.step}" uses module "${f.module}" version "${f.version}", which is disabled; use another version (pipebook modules ${f.module} lists them)`;
    case "input-unavailable":
      return `step "${f.step}": ${f.what} "${f.input}": ${f.problem}`;
    case "data-reference-missing":
      return `step "${f.step}": DataReference "${f.input}" points at "${f.path}" on datastore ${f.datastore}, which does not exist`;
    case "compute-unknown":
      return `step "${f.step}" names compute target "${f.computeTarget}", which the workspace does not have (known: ${f.known.join(", ")})`;
    case "concurrency-invalid":
      return `concurrency must be a whole number ≥ 1, got ${String(f.concurrency)}`;
    default:
      return unreachable(f);
  }
}
