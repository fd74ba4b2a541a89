/**
 * An HTTP failure with the sentence a client reads. Every route throws these (or domain errors
 * that `toHttpError` maps); one error middleware writes them as `{"error": "..."}`.
 */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly status: number,
    message: string,
    readonly extra: { readonly headers?: Readonly<Record<string, string>>; readonly fields?: readonly string[] } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
