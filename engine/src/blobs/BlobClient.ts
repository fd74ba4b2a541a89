import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { dirname } from "node:path";
import { pipeline } from "node:stream/promises";
import { setTimeout as delay } from "node:timers/promises";
import type { Digest } from "../fingerprint/digest.js";
import { isBlobDigest, MAX_DIGESTS_PER_QUERY, UPLOAD_OFFSET_HEADER } from "./blobProtocol.js";
import { BlobTransferError } from "./BlobTransferError.js";

export interface TransferProgress {
  readonly digest: Digest;
  /** Bytes of the blob on the receiving side so far (a resumed transfer starts at its offset). */
  readonly done: number;
  readonly total: number;
}

export interface TransferOptions {
  readonly onProgress?: (p: TransferProgress) => void;
}

export interface TransferResult {
  /** Bytes this call sent or received over the network: 0 when the other side had the blob. */
  readonly bytes: number;
  /** The blob's size. */
  readonly size: number;
  /** HTTP exchanges it took (more than 1 after a dropped connection). */
  readonly attempts: number;
  /** Offsets a transfer resumed from after a drop. */
  readonly resumedFrom: readonly number[];
}

export interface BlobClientOptions {
  /** Retries after a dropped or refused connection, per transfer (default 5). */
  readonly retries?: number;
  /** First wait before a retry, doubled each time up to 2 s (default 100 ms). */
  readonly retryDelayMs?: number;
  /** A connection silent this long is dropped and the transfer resumed (default 60 s). */
  readonly idleTimeoutMs?: number;
}

interface Reply {
  readonly status: number;
  readonly headers: IncomingMessage["headers"];
  readonly text: string;
}

/** A failure worth another try: the connection, not the request, went wrong. */
class Dropped extends Error {}

/**
 * The client side of the content-addressed blob routes (`/blobs/…` of `pipebook serve`): it
 * asks which blobs the server lacks, uploads a file under its digest and downloads one to a
 * path. A transfer cut off midway resumes where the other side's bytes end (the server's kept
 * partial upload, or the local `.part` file) instead of starting over; a download is hashed as
 * it arrives and lands at its path only when its SHA-256 is the digest asked for.
 */
export class BlobClient {
  private readonly base: URL;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly idleTimeoutMs: number;

  constructor(baseUrl: string, private readonly token: string, options: BlobClientOptions = {}) {
    this.base = new URL(baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
    this.retries = options.retries ?? 5;
    this.retryDelayMs = options.retryDelayMs ?? 100;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  }

  /** The digests among `digests` that the server does not store. */
  async missing(digests: readonly Digest[]): Promise<Digest[]> {
    const unique = [...new Set(digests)];
    const out: Digest[] = [];
    for (let i = 0; i < unique.length; i += MAX_DIGESTS_PER_QUERY) {
      const batch = unique.slice(i, i + MAX_DIGESTS_PER_QUERY);
      const reply = await this.retrying(() => this.send("POST", "blobs/missing", { body: JSON.stringify({ digests: batch }), headers: { "Content-Type": "application/json" } }));
      if (reply.status !== 200) throw this.refused(reply, "ask which blobs are missing");
      // Read by hand, not through the contract's schemas: an agent or a script loads no zod for this.
      const missing: unknown = (parseJson(reply.text) as { missing?: unknown } | null)?.missing;
      if (!Array.isArray(missing)) throw new BlobTransferError({ reason: "missing-list-absent" });
      for (const d of missing as unknown[]) {
        if (typeof d !== "string" || !isBlobDigest(d)) throw new BlobTransferError({ reason: "missing-not-digest", named: String(d).slice(0, 80) });
        out.push(d);
      }
    }
    return out;
  }

  /** Uploads `file` as blob `digest`; 0 bytes when the server has it. The server checks the digest. */
  async upload(digest: Digest, file: string, options: TransferOptions = {}): Promise<TransferResult> {
    const size = (await stat(file)).size;
    let bytes = 0;
    let attempts = 0;
    const resumedFrom: number[] = [];
    for (let failures = 0; ; ) {
      attempts += 1;
      try {
        const head = await this.send("HEAD", `blobs/${digest}`);
        if (head.status === 200) return { bytes, size, attempts, resumedFrom };
        if (head.status !== 404) throw this.refused(head, `look up blob ${digest}`);
        const offset = Number(head.headers[UPLOAD_OFFSET_HEADER] ?? 0);
        if (offset > size) throw new BlobTransferError({ reason: "conflict", digest, file, offset, size });
        if (offset > 0) resumedFrom.push(offset);
        options.onProgress?.({ digest, done: offset, total: size });
        const reply = await this.put(digest, file, offset, size, (n, done) => {
          bytes += n;
          options.onProgress?.({ digest, done, total: size });
        });
        if (reply.status === 200 || reply.status === 201) return { bytes, size, attempts, resumedFrom };
        if (reply.status === 409) {
          // Another upload of it is running, or ours resumed from a stale offset: look again.
          await delay(Number(reply.headers["retry-after"] ?? 0) * 1000 || this.retryDelayMs);
          continue;
        }
        if (reply.status === 422) throw new BlobTransferError({ reason: "upload-not-digest", digest, file, said: errorOf(reply) });
        throw this.refused(reply, `upload ${file}`);
      } catch (err) {
        if (!(err instanceof Dropped) || ++failures > this.retries) throw this.final(err, `upload ${file}`);
        await delay(Math.min(this.retryDelayMs * 2 ** (failures - 1), 2000));
      }
    }
  }

  /**
   * Downloads blob `digest` to `dest`. Bytes arrive in `dest.<digest>.part`, which a later call
   * resumes; `dest` appears only once the whole blob is there and proven by its SHA-256.
   */
  async download(digest: Digest, dest: string, options: TransferOptions = {}): Promise<TransferResult> {
    const part = `${dest}.${digest.slice(0, 16)}.part`;
    await mkdir(dirname(dest), { recursive: true });
    let bytes = 0;
    let attempts = 0;
    const resumedFrom: number[] = [];
    for (let failures = 0; ; ) {
      attempts += 1;
      const offset = (await stat(part).catch(() => undefined))?.size ?? 0;
      if (offset > 0) resumedFrom.push(offset);
      try {
        const result = await this.get(digest, part, offset, (n, done, total) => {
          bytes += n;
          options.onProgress?.({ digest, done, total });
        });
        if (result === "restart") {
          await rm(part, { force: true });
          continue;
        }
        await rename(part, dest);
        return { bytes, size: result.size, attempts, resumedFrom };
      } catch (err) {
        if (!(err instanceof Dropped) || ++failures > this.retries) {
          if (err instanceof BlobTransferError && err.failure.reason === "digest-mismatch") await rm(part, { force: true });
          throw this.final(err, `download blob ${digest}`);
        }
        await delay(Math.min(this.retryDelayMs * 2 ** (failures - 1), 2000));
      }
    }
  }

  private async put(digest: Digest, file: string, offset: number, size: number, progress: (n: number, done: number) => void): Promise<Reply> {
    const headers: Record<string, string> = { "Content-Type": "application/octet-stream", "Content-Length": String(size - offset) };
    if (size > 0) headers["Content-Range"] = `bytes ${offset}-${size - 1}/${size}`;
    return this.send("PUT", `blobs/${digest}`, {
      headers,
      body: async (req) => {
        let done = offset;
        const count = async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
          for await (const chunk of source) {
            done += chunk.length;
            progress(chunk.length, done);
            yield chunk;
          }
        };
        await pipeline(createReadStream(file, { start: offset }), count, req);
      },
    });
  }

  /** Appends the blob's bytes from `offset` to `part`; "restart" when the server would not resume. */
  private async get(digest: Digest, part: string, offset: number, progress: (n: number, done: number, total: number) => void): Promise<{ size: number } | "restart"> {
    const res = await this.open("GET", `blobs/${digest}`, offset > 0 ? { Range: `bytes=${offset}-` } : {});
    if (res.statusCode === 416) {
      res.resume();
      return "restart";
    }
    if (res.statusCode !== 200 && res.statusCode !== 206) {
      const reply = { status: res.statusCode ?? 0, headers: res.headers, text: await readBody(res) };
      if (reply.status === 404) throw new BlobTransferError({ reason: "not-found", digest });
      throw this.refused(reply, `download blob ${digest}`);
    }
    const start = res.statusCode === 206 ? offset : 0;
    const total = res.statusCode === 206 ? Number(/\/(\d+)$/.exec(String(res.headers["content-range"]))?.[1] ?? NaN) : Number(res.headers["content-length"] ?? NaN);
    const hash = createHash("sha256");
    if (start > 0) for await (const chunk of createReadStream(part, { end: start - 1 })) hash.update(chunk as Buffer);
    let done = start;
    const count = async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
      for await (const chunk of source) {
        done += chunk.length;
        hash.update(chunk);
        progress(chunk.length, done, total);
        yield chunk;
      }
    };
    try {
      await pipeline(res, count, createWriteStream(part, { flags: start > 0 ? "r+" : "w", start }));
    } catch (err) {
      throw new Dropped(err instanceof Error ? err.message : String(err));
    }
    if (Number.isFinite(total) && done < total) throw new Dropped(`the download of ${digest} ended at byte ${done} of ${total}`);
    const actual = hash.digest("hex");
    if (actual !== digest) throw new BlobTransferError({ reason: "digest-mismatch", digest, bytes: done, actual });
    return { size: done };
  }

  /** One request whose whole reply is read; connection failures become `Dropped`. */
  private async send(method: string, path: string, o: { headers?: Record<string, string>; body?: string | ((req: NodeJS.WritableStream) => Promise<void>) } = {}): Promise<Reply> {
    const res = await this.open(method, path, o.headers ?? {}, o.body);
    return { status: res.statusCode ?? 0, headers: res.headers, text: await readBody(res) };
  }

  private async open(method: string, path: string, headers: Record<string, string>, body?: string | ((req: NodeJS.WritableStream) => Promise<void>)): Promise<IncomingMessage> {
    const url = new URL(path, this.base);
    // http and https (with tls, ~13 ms of CPU to load here) load with the first request: the
    // package index exports this class, and most processes that import the index never send one.
    const { request } = url.protocol === "https:" ? await import("node:https") : await import("node:http");
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(url, { method, headers: { ...headers, Authorization: `Bearer ${this.token}` }, timeout: this.idleTimeoutMs }, (res) => {
        res.on("error", () => undefined);
        resolve(res);
      });
      req.on("timeout", () => req.destroy(new Error(`no bytes for ${this.idleTimeoutMs} ms`)));
      req.on("error", (err) => reject(new Dropped(err.message)));
      if (typeof body === "function") {
        // A body cut off by the server's early reply or a dropped connection ends in req's error or the reply.
        body(req).catch((err: unknown) => req.destroy(err instanceof Error ? err : new Error(String(err))));
      } else req.end(body);
    });
  }

  private async retrying(call: () => Promise<Reply>): Promise<Reply> {
    for (let failures = 0; ; ) {
      try {
        return await call();
      } catch (err) {
        if (!(err instanceof Dropped) || ++failures > this.retries) throw this.final(err, "reach the server");
        await delay(Math.min(this.retryDelayMs * 2 ** (failures - 1), 2000));
      }
    }
  }

  private refused(reply: Reply, what: string): BlobTransferError {
    if (reply.status === 401) return new BlobTransferError({ reason: "unauthorized", server: this.base.origin, said: errorOf(reply) });
    if (reply.status === 403) return new BlobTransferError({ reason: "forbidden", said: errorOf(reply) });
    return new BlobTransferError({ reason: "refused", doing: what, status: reply.status, said: errorOf(reply) });
  }

  private final(err: unknown, what: string): unknown {
    if (err instanceof Dropped) return new BlobTransferError({ reason: "unreachable", doing: what, server: this.base.origin, attempts: this.retries + 1, last: err.message });
    return err;
  }
}

async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of res) chunks.push(chunk as Buffer);
  } catch (err) {
    throw new Dropped(err instanceof Error ? err.message : String(err));
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function errorOf(reply: Reply): string {
  const body = parseJson(reply.text);
  if (typeof body === "object" && body !== null && typeof (body as { error?: unknown }).error === "string") return (body as { error: string }).error;
  return reply.text.slice(0, 200) || `HTTP ${reply.status}`;
}
