import { FailureError, unreachable, type PipebookErrorCode } from "../errors/PipebookError.js";
/**
 * Expected failures of publishing, endpoints, tokens and schedules, as data. The sentence a
 * person reads is made in one place (`describePublishFailure`); the code follows the reason, the
 * REST mapper turns the code into a status, the CLI prints the sentence.
 */
export type PublishFailure =
  | { readonly reason: "run-not-found"; readonly runId: string }
  | { readonly reason: "pipeline-not-found"; readonly id: string }
  | { readonly reason: "pipeline-disabled"; readonly id: string; readonly name: string }
  | { readonly reason: "endpoint-not-found"; readonly name: string }
  | { readonly reason: "version-not-found"; readonly endpoint: string; readonly version: string; readonly known: readonly string[] }
  | { readonly reason: "schedule-not-found"; readonly id: string }
  | { readonly reason: "token-not-found"; readonly id: string }
  | { readonly reason: "invalid"; readonly field: string; readonly message: string };

export class PublishError extends FailureError<PublishFailure> {
  constructor(failure: PublishFailure, options?: { cause?: unknown }) {
    super(publishFailureCode(failure), failure, describePublishFailure(failure), [], options);
  }
}

function publishFailureCode(f: PublishFailure): PipebookErrorCode {
  switch (f.reason) {
    case "run-not-found":
    case "pipeline-not-found":
    case "endpoint-not-found":
    case "version-not-found":
    case "schedule-not-found":
    case "token-not-found":
      return "not-found";
    case "pipeline-disabled":
      return "disabled";
    case "invalid":
      return "request-invalid";
    default:
      return unreachable(f);
  }
}

export function describePublishFailure(f: PublishFailure): string {
  switch (f.reason) {
    case "run-not-found":
      return `no run "${f.runId}" in this workspace`;
    case "pipeline-not-found":
      return `no published pipeline "${f.id}"`;
    case "pipeline-disabled":
      return `published pipeline "${f.name}" (${f.id}) is disabled; enable it to run it`;
    case "endpoint-not-found":
      return `no pipeline endpoint "${f.name}"`;
    case "version-not-found":
      return `pipeline endpoint "${f.endpoint}" has no version "${f.version}" (it has ${f.known.join(", ") || "none"})`;
    case "schedule-not-found":
      return `no schedule "${f.id}"`;
    case "token-not-found":
      return `no token "${f.id}"`;
    case "invalid":
      return `${f.field}: ${f.message}`;
    default:
      return unreachable(f);
  }
}
