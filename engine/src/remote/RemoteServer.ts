import { BlobClient } from "../blobs/BlobClient.js";
import { BlobTransferError } from "../blobs/BlobTransferError.js";
import { readErrorReply, type FailureCode } from "../contract/expectedFailure.js";
import { describeReplyMismatch, parseReply, type ReplySchemaName } from "../contract/rest.js";
import type { z } from "zod";
import { REPLY_SCHEMAS } from "../contract/rest.js";
import { RemoteError } from "./RemoteError.js";

/** Where a remote workspace's token came from, named in the sentence when the server refuses it. */
export type TokenSource = "PIPEBOOK_TOKEN" | `tokenFile ${string}`;

/**
 * A `pipebook serve` that a workspace submits to: its URL and token, and every REST call the
 * remote workspace makes, through one request function that turns a refused connection, a
 * refused token and any other refusal into one sentence each (RemoteError).
 */
export class RemoteServer {
  readonly url: string;
  readonly blobs: BlobClient;

  constructor(
    url: string,
    private readonly token: string,
    readonly tokenSource: TokenSource,
  ) {
    this.url = url.replace(/\/+$/, "");
    this.blobs = new BlobClient(this.url, token);
  }

  /** The Authorization header's value, for streams opened elsewhere (RemoteRun's events). */
  get authorization(): string {
    return `Bearer ${this.token}`;
  }

  /** A JSON request whose reply is read as the named schema of the contract. */
  async json<N extends ReplySchemaName>(reply: N, method: string, path: string, body?: unknown, init: { headers?: Record<string, string> } = {}): Promise<z.infer<(typeof REPLY_SCHEMAS)[N]>> {
    const res = await this.request(method, path, body, init);
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new RemoteError({ reason: "reply-invalid", server: this.url, detail: `its reply to ${method} ${path} is not JSON: ${JSON.stringify(text.slice(0, 80))}` });
    }
    const read = parseReply(reply, parsed);
    if (read.ok) return read.value;
    // The contract's sentence: the reply, the first field that differs, and the version question.
    throw new RemoteError({ reason: "reply-invalid", server: this.url, detail: describeReplyMismatch(read.mismatch) });
  }

  /** A request whose body is text (a log), or whose reply is not in the contract. */
  async text(method: string, path: string, body?: unknown): Promise<string> {
    return (await this.request(method, path, body)).text();
  }

  /** Any request; a reply that is not 2xx is a RemoteError with the server's sentence. */
  async request(method: string, path: string, body?: unknown, init: { signal?: AbortSignal; headers?: Record<string, string> } = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers: { Authorization: this.authorization, ...(body !== undefined && { "Content-Type": "application/json" }), ...init.headers },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        ...(init.signal && { signal: init.signal }),
      });
    } catch (err) {
      if (init.signal?.aborted) throw err;
      throw new RemoteError({ reason: "unreachable", server: this.url, detail: causeOf(err) }, { cause: err });
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => "");
    let sentence = text.slice(0, 300) || `HTTP ${res.status}`;
    let data: { code?: FailureCode; serverReason?: string } = {};
    try {
      // The server's ErrorReply: its sentence, and an expected failure's code and reason.
      const { error, code, reason } = readErrorReply(JSON.parse(text));
      if (error !== undefined) sentence = error;
      data = { ...(code !== undefined && { code }), ...(reason !== undefined && { serverReason: reason }) };
    } catch {
      // not JSON (a proxy's page): its first characters
    }
    if (res.status === 401) throw new RemoteError({ reason: "unauthorized", server: this.url, detail: `from ${this.tokenSource}` });
    throw new RemoteError({ reason: "refused", server: this.url, status: res.status, detail: sentence, ...data });
  }

  /** A blob transfer's failure in the remote workspace's words (the same as its REST calls'); other errors as they are. */
  transferError(err: unknown, doing: string): unknown {
    if (!(err instanceof BlobTransferError)) return err;
    const f = err.failure;
    if (f.reason === "unreachable") return new RemoteError({ reason: "unreachable", server: this.url, detail: f.last }, { cause: err });
    if (f.reason === "unauthorized") return new RemoteError({ reason: "unauthorized", server: this.url, detail: `from ${this.tokenSource}` }, { cause: err });
    return new RemoteError({ reason: "refused", server: this.url, status: 0, detail: `${doing} ${doing.startsWith("uploading") ? "to" : "from"} ${this.url} failed: ${err.message}` }, { cause: err });
  }

  /** What only a local workspace can do: one sentence saying so. */
  localOnly(action: string): RemoteError {
    return new RemoteError({ reason: "local-only", server: this.url, action });
  }
}

/** "connect ECONNREFUSED 127.0.0.1:9" from undici's "fetch failed" and its cause. */
function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  if (cause?.message) return cause.message;
  if (cause?.code) return cause.code;
  return err instanceof Error ? err.message : String(err);
}
