import { Router, type Request, type Response } from "express";
import { z } from "zod";
import { hasScope, type Scope } from "../auth/scopes.js";
import { AgentPool } from "../compute/remote/AgentPool.js";
import { unreachable } from "../errors/PipebookError.js";
import type { BlobMissing, BlobStored } from "../contract/rest.js";
import type { Digest } from "../fingerprint/digest.js";
import { callerKey, callerOf } from "./Authenticator.js";
import { HttpError } from "./HttpError.js";
import { param } from "./param.js";
import { parseWith } from "./schemas.js";
import type { ServerContext } from "./ServerContext.js";
import { isBlobDigest, MAX_DIGESTS_PER_QUERY } from "../blobs/blobProtocol.js";
import { BlobUploads, type UploadOutcome } from "../blobs/BlobUploads.js";

/**
 * Who may move blobs. Uploading (and asking what is missing, and where a partial upload
 * stands) is part of submitting a run; reading a blob's bytes is reading the workspace. The
 * `agent` scope (agents fetch inputs and upload outputs) joins both lists where it is defined.
 */
export const BLOB_WRITE_SCOPES: readonly Scope[] = ["runs:submit", "agent"];
/** An `agent` token reads only blobs offered to a job in flight on an agent connected with it (AgentPool.offered). */
export const BLOB_READ_SCOPES: readonly Scope[] = ["read", "agent"];
/** HEAD tells an uploader where to resume and a reader whether to fetch. */
export const BLOB_HEAD_SCOPES: readonly Scope[] = [...new Set([...BLOB_READ_SCOPES, ...BLOB_WRITE_SCOPES])];

/** `POST /blobs/missing`'s body. */
export const BlobMissingRequestSchema = z
  .object({ digests: z.array(z.string()).max(MAX_DIGESTS_PER_QUERY, `at most ${MAX_DIGESTS_PER_QUERY} digests per request`) })
  .strict();

/** Default bound on one blob (`ServerOptions.maxBlobBytes`). */
export const DEFAULT_MAX_BLOB_BYTES = 64 * 1024 ** 3;

/**
 * The content-addressed transfer routes over the workspace's BlobStore: `POST /blobs/missing`,
 * `HEAD|GET|PUT /blobs/{digest}`. A PUT may carry the whole blob or, with `Content-Range:
 * bytes N-M/T`, its rest from N, the size of the partial upload that `HEAD` reports in
 * `Upload-Offset`; the blob becomes visible only once its size and SHA-256 are proven.
 */
export function blobRoutes(ctx: ServerContext, options: { readonly maxBlobBytes?: number } = {}): Router {
  const r = Router();
  const { ws, auth } = ctx;
  const uploads = new BlobUploads(ws.blobs, options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES);

  const digestOf = (req: Request): Digest => {
    const d = param(req, "digest");
    if (!isBlobDigest(d)) throw new HttpError(400, `"${d.slice(0, 80)}" is not a blob digest: expected 64 lowercase hex characters (sha256)`);
    return d;
  };

  r.post("/blobs/missing", auth.requireAny(BLOB_WRITE_SCOPES), async (req, res) => {
    const body = parseWith(BlobMissingRequestSchema, req.body, "body");
    const bad = body.digests.find((d) => !isBlobDigest(d));
    if (bad !== undefined) throw new HttpError(400, `"${bad.slice(0, 80)}" is not a blob digest: expected 64 lowercase hex characters (sha256)`);
    const unique = [...new Set(body.digests as Digest[])];
    const present = await Promise.all(unique.map((d) => ws.blobs.has(d)));
    res.json({ missing: unique.filter((_, i) => !present[i]) } satisfies BlobMissing);
  });

  r.head("/blobs/:digest", auth.requireAny(BLOB_HEAD_SCOPES), async (req, res) => {
    const digest = digestOf(req);
    const size = await uploads.sizeOf(digest);
    if (size !== undefined) {
      res.set({ "Content-Length": String(size), "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream" }).status(200).end();
      return;
    }
    res.set({ "Upload-Offset": String(await uploads.offsetOf(digest)), "Content-Length": "0" }).status(404).end();
  });

  r.get("/blobs/:digest", auth.requireAny(BLOB_READ_SCOPES), async (req, res, next) => {
    const digest = digestOf(req);
    const caller = callerOf(req);
    if (!hasScope(caller.scopes, "read") && !AgentPool.of(ws.dir)?.offered(digest, callerKey(caller))) {
      throw new HttpError(403, `an agent token reads only the blobs of jobs given to agents connected with it, and no such job in flight was given ${digest}`);
    }
    if ((await uploads.sizeOf(digest)) === undefined) throw new HttpError(404, `no blob ${digest} in this workspace`);
    // `sendFile` answers `Range: bytes=N-` with 206 and Content-Range (416 when out of range).
    res.sendFile(ws.blobs.pathOf(digest), { dotfiles: "allow", acceptRanges: true, cacheControl: false, lastModified: false, etag: false, headers: { "Content-Type": "application/octet-stream" } }, (err) => {
      if (err && !res.headersSent) next(err);
    });
  });

  r.put("/blobs/:digest", auth.requireAny(BLOB_WRITE_SCOPES), async (req, res) => {
    const digest = digestOf(req);
    const { offset, total } = rangeOf(req);
    const outcome = await uploads.receive(digest, offset, total, req);
    replyToUpload(res, digest, outcome);
  });

  return r;
}

/** Where the body starts and the blob's whole size: from `Content-Range`, else the body is the whole blob. */
function rangeOf(req: Request): { offset: number; total: number } {
  const range = req.headers["content-range"];
  const length = req.headers["content-length"];
  if (range === undefined) {
    if (length === undefined) throw new HttpError(411, "a blob upload needs Content-Length (the whole blob) or Content-Range (bytes N-M/TOTAL)");
    return { offset: 0, total: Number(length) };
  }
  const m = /^bytes (\d+)-(\d+|\*)\/(\d+)$/.exec(range);
  if (!m) throw new HttpError(400, `Content-Range "${range.slice(0, 80)}" is not "bytes N-M/TOTAL"`);
  const offset = Number(m[1]);
  const total = Number(m[3]);
  if (m[2] !== "*" && Number(m[2]) !== total - 1) throw new HttpError(400, `Content-Range "${range}" must run to the blob's end (bytes N-${total - 1}/${total})`);
  if (length !== undefined && Number(length) !== total - offset) throw new HttpError(400, `Content-Length ${length} does not match Content-Range "${range}" (${total - offset} bytes)`);
  return { offset, total };
}

function replyToUpload(res: Response, digest: Digest, o: UploadOutcome): void {
  switch (o.reason) {
    case "stored":
      res.status(201).json({ digest, size: o.size, received: o.received } satisfies BlobStored);
      return;
    case "present":
      res.status(200).json({ digest, size: o.size, received: 0 } satisfies BlobStored);
      return;
    case "partial":
      // The caller is usually gone; if it is not, it learns where to resume.
      throw new HttpError(400, `the upload of ${digest} ended at byte ${o.offset} before the size its Content-Range named; resume from there`, { headers: { "Upload-Offset": String(o.offset) } });
    case "digest-mismatch":
      throw new HttpError(422, `the uploaded bytes (${o.size}) have sha256 ${o.actual}, not ${digest}; nothing was stored`);
    case "wrong-offset":
      throw new HttpError(409, `the upload of ${digest} is at byte ${o.offset}: resume from there (HEAD tells it in Upload-Offset)`, { headers: { "Upload-Offset": String(o.offset) } });
    case "size-changed":
      throw new HttpError(400, `the upload of ${digest} carried more bytes than its size ${o.total}; nothing was stored`);
    case "too-large":
      throw new HttpError(413, `a blob of ${o.total} bytes is over this server's limit of ${o.max} bytes`);
    case "busy":
      throw new HttpError(409, `another upload of ${digest} is in progress; try again when it ends`, { headers: { "Retry-After": "1" } });
    default:
      unreachable(o);
  }
}
