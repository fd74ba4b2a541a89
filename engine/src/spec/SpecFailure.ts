import { FailureError, unreachable, type PipebookErrorCode } from "../errors/PipebookError.js";

/** Expected failures of rebuilding a pipeline from its spec in a workspace, as data. */
export type SpecFailure =
  | { readonly reason: "output-datastore-unknown"; readonly output: string; readonly datastore: string }
  | { readonly reason: "transfer-datastore-unknown"; readonly step: string; readonly datastore: string }
  | { readonly reason: "transfer-source-invalid"; readonly step: string }
  | { readonly reason: "dataset-version-unknown"; readonly dataset: string; readonly version: number }
  | { readonly reason: "input-datastore-unknown"; readonly datastore: string }
  | { readonly reason: "parameter-undeclared"; readonly step: string; readonly parameter: string };

export class SpecError extends FailureError<SpecFailure> {
  constructor(failure: SpecFailure) {
    super(specFailureCode(failure), failure, describeSpecFailure(failure));
  }
}

function specFailureCode(f: SpecFailure): PipebookErrorCode {
  switch (f.reason) {
    case "output-datastore-unknown":
    case "transfer-datastore-unknown":
    case "dataset-version-unknown":
    case "input-datastore-unknown":
      return "not-found";
    case "transfer-source-invalid":
      return "step-invalid";
    case "parameter-undeclared":
      return "parameter-invalid";
    default:
      return unreachable(f);
  }
}

export function describeSpecFailure(f: SpecFailure): string {
  switch (f.reason) {
    case "output-datastore-unknown":
      return `the pipeline writes output "${f.output}" to datastore "${f.datastore}", which this workspace does not have`;
    case "transfer-datastore-unknown":
      return `step "${f.step}" transfers to datastore "${f.datastore}", which this workspace does not have`;
    case "transfer-source-invalid":
      return `step "${f.step}": a transfer's source must be a DataReference`;
    case "dataset-version-unknown":
      return `the pipeline reads dataset "${f.dataset}" version ${f.version}, which this workspace does not have`;
    case "input-datastore-unknown":
      return `the pipeline reads datastore "${f.datastore}", which this workspace does not have`;
    case "parameter-undeclared":
      return `step "${f.step}" reads parameter "${f.parameter}", which the pipeline does not declare`;
    default:
      return unreachable(f);
  }
}
