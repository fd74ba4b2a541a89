import type { FailureCode } from "../contract/expectedFailure.js";

/** What an error reply says besides its sentence: the headers to set, the fields at fault, and an expected failure's code and reason. */
export interface HttpErrorExtra {
  readonly headers?: Readonly<Record<string, string>>;
  readonly fields?: readonly string[];
  readonly code?: FailureCode;
  readonly reason?: string;
}

/**
 * An HTTP failure with the sentence a client reads. Routes throw these (or domain errors that
 * `toHttpError` maps); one error middleware writes them as `ErrorReply` (`{"error": "...", "code"?,
 * "reason"?, "fields"?}`).
 */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly status: number,
    message: string,
    readonly extra: HttpErrorExtra = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
