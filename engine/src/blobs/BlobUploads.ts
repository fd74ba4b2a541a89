import { createHash, type Hash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { BlobStore } from "../artifacts/BlobStore.js";
import type { Digest } from "../fingerprint/digest.js";

/** How an upload request ended; `server/blobRoutes.ts` turns each into one HTTP reply. */
export type UploadOutcome =
  | { readonly reason: "stored"; readonly size: number; readonly received: number }
  | { readonly reason: "present"; readonly size: number }
  /** The body ended (connection dropped) before `total`: what arrived is kept for a resume. */
  | { readonly reason: "partial"; readonly offset: number; readonly received: number }
  | { readonly reason: "digest-mismatch"; readonly actual: Digest; readonly size: number }
  | { readonly reason: "wrong-offset"; readonly offset: number }
  | { readonly reason: "size-changed"; readonly total: number; readonly partialTotal: number }
  | { readonly reason: "too-large"; readonly total: number; readonly max: number }
  | { readonly reason: "busy" };

/**
 * Uploads into the workspace's content-addressed store, kept aside until they are proven.
 * A partial upload lives in `<blobs>/uploads/<digest>.part`, never under the store's `sha256/`
 * names, so nothing reads a blob that is incomplete or whose bytes are not the digest's: the whole file is hashed as it arrives (the
 * kept prefix again when a dropped upload resumes), and it is renamed into the store only when
 * its size and SHA-256 both match. One upload per digest at a time in this process (a second is
 * told `busy`); two servers on one workspace could still race on one partial file.
 */
export class BlobUploads {
  private readonly dir: string;
  private readonly active = new Set<Digest>();

  constructor(
    private readonly store: BlobStore,
    /** The largest blob accepted, in bytes. */
    readonly maxBytes: number,
  ) {
    this.dir = join(store.root, "uploads");
  }

  private partPath(digest: Digest): string {
    return join(this.dir, `${digest}.part`);
  }

  /** The stored blob's size, or undefined. */
  async sizeOf(digest: Digest): Promise<number | undefined> {
    const st = await stat(this.store.pathOf(digest)).catch(() => undefined);
    return st?.isFile() ? st.size : undefined;
  }

  /** Bytes of a partial upload kept for `digest` (0 when none): where a resumed upload starts. */
  async offsetOf(digest: Digest): Promise<number> {
    const st = await stat(this.partPath(digest)).catch(() => undefined);
    return st?.isFile() ? st.size : 0;
  }

  /**
   * Appends `body` (the bytes `offset`…`total - 1` of the blob) to the partial upload. The
   * caller learnt `offset` from `offsetOf`; any other offset is refused with the right one.
   */
  async receive(digest: Digest, offset: number, total: number, body: Readable): Promise<UploadOutcome> {
    if (total > this.maxBytes) return { reason: "too-large", total, max: this.maxBytes };
    const present = await this.sizeOf(digest);
    if (present !== undefined) return { reason: "present", size: present };
    if (this.active.has(digest)) return { reason: "busy" };
    this.active.add(digest);
    try {
      const part = this.partPath(digest);
      const kept = await this.offsetOf(digest);
      if (offset !== kept) return { reason: "wrong-offset", offset: kept };
      if (offset > total) return { reason: "size-changed", total, partialTotal: kept };
      await mkdir(this.dir, { recursive: true });
      const hash = createHash("sha256");
      if (kept > 0) await pipeline(createReadStream(part), hashSink(hash));
      let received = 0;
      let over = false;
      const out = createWriteStream(part, { flags: kept > 0 ? "r+" : "w", start: kept });
      const counted = async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
        for await (const chunk of source) {
          if (kept + received + chunk.length > total) {
            over = true;
            const room = total - kept - received;
            if (room > 0) {
              received += room;
              hash.update(chunk.subarray(0, room));
              yield chunk.subarray(0, room);
            }
            return;
          }
          received += chunk.length;
          hash.update(chunk);
          yield chunk;
        }
      };
      // A dropped connection ends the body with an error: what was written is kept for a resume.
      await pipeline(body, counted, out).catch(() => undefined);
      if (!out.closed) await new Promise<void>((resolve) => out.once("close", () => resolve()));
      const size = await this.offsetOf(digest);
      if (over) {
        await rm(part, { force: true });
        return { reason: "size-changed", total, partialTotal: kept + received };
      }
      if (size < total) return { reason: "partial", offset: size, received };
      const actual = hash.digest("hex") as Digest;
      if (actual !== digest) {
        await rm(part, { force: true });
        return { reason: "digest-mismatch", actual, size };
      }
      const dest = this.store.pathOf(digest);
      await mkdir(join(dest, ".."), { recursive: true });
      await rename(part, dest);
      return { reason: "stored", size, received };
    } finally {
      this.active.delete(digest);
    }
  }
}

function hashSink(hash: Hash): (source: AsyncIterable<Buffer>) => Promise<void> {
  return async (source) => {
    for await (const chunk of source) hash.update(chunk);
  };
}
