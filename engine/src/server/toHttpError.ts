import { PipebookError, unreachable, type PipebookErrorCode } from "../errors/PipebookError.js";
import { PublishError } from "../publish/PublishError.js";
import { HttpError } from "./HttpError.js";
import { QueueError } from "./QueueError.js";

/** Errors thrown by express's body parser carry a `type` and a status. */
interface BodyParserError {
  readonly type: string;
  readonly status: number;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return typeof err === "object" && err !== null && typeof (err as { type?: unknown }).type === "string" && typeof (err as { status?: unknown }).status === "number";
}

/** The one status table: an expected failure's status follows its code. */
function statusOf(code: PipebookErrorCode): number {
  switch (code) {
    case "parameter-invalid":
    case "graph-invalid":
    case "step-invalid":
    case "source-invalid":
    case "pipeline-file-invalid":
    case "config-invalid":
    case "request-invalid":
    case "local-only":
      return 400;
    case "unauthorized":
      return 401;
    case "not-found":
      return 404;
    case "disabled":
    case "workspace-incompatible":
    case "compute-unknown":
    case "compute-unavailable":
    case "script-missing":
    case "source-missing":
    case "datastore-error":
    case "dataset-invalid":
      // The stored pipeline cannot run in this workspace as it is now: a conflict with its state.
      return 409;
    case "queue-full":
      return 429;
    case "shutting-down":
      return 503;
    // A server that is itself a remote workspace's client: the server behind it failed.
    case "server-unreachable":
    case "server-refused":
      return 502;
    default:
      return unreachable(code);
  }
}

/** The reply of an expected failure: its sentence, its code and reason, and what its data says of fields and retrying. */
function failureReply(err: PipebookError): HttpError {
  return new HttpError(statusOf(err.code), err.message, {
    code: err.code,
    reason: err.failure.reason,
    ...(err instanceof PublishError && err.failure.reason === "invalid" && { fields: [err.failure.field] }),
    ...(err instanceof QueueError && err.failure.reason === "full" && { headers: { "Retry-After": String(err.failure.retryAfterSeconds) } }),
  });
}

/**
 * The one place where failures become HTTP statuses and sentences. An expected failure keeps its
 * describer's sentence and gives its data: `code` (the status follows it) and `reason` (its
 * union's tag), so clients switch on those, never on wording; anything else is a bug and
 * becomes a bare 500 whose detail goes to the server log only (`internal: true`).
 */
export function toHttpError(err: unknown): { error: HttpError; internal: boolean } {
  if (err instanceof HttpError) return { error: err, internal: false };
  if (err instanceof PipebookError) return { error: failureReply(err), internal: false };
  if (isBodyParserError(err)) {
    switch (err.type) {
      case "entity.parse.failed":
        return { error: new HttpError(400, "the request body is not valid JSON"), internal: false };
      case "entity.too.large":
        return { error: new HttpError(413, "the request body is too large"), internal: false };
      case "encoding.unsupported":
      case "charset.unsupported":
        return { error: new HttpError(415, "the request body's encoding or charset is not supported; send UTF-8 JSON"), internal: false };
      case "request.aborted":
        return { error: new HttpError(400, "the request was aborted"), internal: false };
      default:
        if (err.status >= 400 && err.status < 500) return { error: new HttpError(err.status, "the request body could not be read"), internal: false };
    }
  }
  // The router could not %-decode a path segment.
  if (err instanceof URIError) return { error: new HttpError(400, "the request path has a malformed %-escape"), internal: false };
  // Other client errors from express's own layers (http-errors: a bad %-escape in a path...).
  if (isExposedClientError(err)) return { error: new HttpError(err.status, "the request could not be understood"), internal: false };
  return { error: new HttpError(500, "internal error"), internal: true };
}

function isExposedClientError(err: unknown): err is { status: number } {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { status?: unknown; expose?: unknown };
  return e.expose === true && typeof e.status === "number" && e.status >= 400 && e.status < 500;
}
