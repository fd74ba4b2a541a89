/**
 * Errors that are expected (a bad parameter, a missing script, a refused target) carry this
 * registered mark, whichever copy of pipebook threw them. A surface words them as the sentence
 * they are — the CLI prints it and exits 2, the REST server answers 4xx, the notebook shows it
 * with the user's own cell frames only — instead of as a crash with the engine's stack.
 */
export const EXPECTED_FAILURE: unique symbol = Symbol.for("pipebook.expectedFailure") as never;

export function isExpectedFailure(e: unknown): e is Error {
  return e instanceof Error && (e as unknown as Record<symbol, unknown>)[EXPECTED_FAILURE] === true;
}

/**
 * The stable code of every expected failure: the engine's `PipebookError.code`, and the `code`
 * of the REST server's error reply (`ErrorReply`), so a client switches on it (and on the
 * failure's `reason`, finer), never on the sentence. Each subsystem derives it from its
 * failure's reason.
 */
export const FAILURE_CODES = [
  "graph-invalid",
  "parameter-invalid",
  "compute-unknown",
  "compute-unavailable",
  "script-missing",
  "source-missing",
  "source-invalid",
  "pipeline-file-invalid",
  "config-invalid",
  "datastore-error",
  "dataset-invalid",
  "not-found",
  "step-invalid",
  /** A request's field is not valid (a published name, a cron expression, a token's scopes). */
  "request-invalid",
  /** The thing exists but is disabled (a published pipeline). */
  "disabled",
  /** The server's run queue is full: retry after the reply's Retry-After. */
  "queue-full",
  "shutting-down",
  /** The workspace was written by a newer pipebook. */
  "workspace-incompatible",
  /** A remote workspace's server: cannot be reached, refused the token, refused without a code of its own. */
  "server-unreachable",
  "unauthorized",
  "server-refused",
  /** Only a workspace on this machine can do it; this one submits to a server. */
  "local-only",
] as const;

export type FailureCode = (typeof FAILURE_CODES)[number];

/**
 * The parts of a server's error reply (`ErrorReply`) that are there and of the right type: its
 * sentence, and an expected failure's code and reason. Checked by hand, without the schema, so
 * the page, the lab extension and a remote workspace read a reply the same way without zod.
 */
export function readErrorReply(body: unknown): { readonly error?: string; readonly code?: FailureCode; readonly reason?: string } {
  if (typeof body !== "object" || body === null) return {};
  const { error, code, reason } = body as Record<string, unknown>;
  return {
    ...(typeof error === "string" && { error }),
    ...(FAILURE_CODES.includes(code as FailureCode) && { code: code as FailureCode }),
    ...(typeof reason === "string" && { reason }),
  };
}
