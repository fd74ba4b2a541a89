import { EXPECTED_FAILURE } from "../contract/expectedFailure.js";

/**
 * Expected failures that reach a user (bad graph, unknown parameter, missing script...).
 * `code` is stable so that callers (CLI, REST mapper, notebook renderer) can switch on it;
 * the message already names the thing that is wrong.
 */
export type PipebookErrorCode =
  | "graph-invalid"
  | "parameter-invalid"
  | "compute-unknown"
  | "compute-unavailable"
  | "script-missing"
  | "source-missing"
  | "source-invalid"
  | "pipeline-file-invalid"
  | "config-invalid"
  | "datastore-error"
  | "dataset-invalid"
  | "not-found"
  | "step-invalid";

export class PipebookError extends Error {
  override readonly name = "PipebookError";
  readonly [EXPECTED_FAILURE] = true;
  constructor(
    readonly code: PipebookErrorCode,
    message: string,
    readonly details: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(details.length > 0 ? `${message}\n${details.map((d) => `  - ${d}`).join("\n")}` : message, options);
  }
}

export function unreachable(x: never): never {
  throw new Error(`unreachable: ${JSON.stringify(x)}`);
}
