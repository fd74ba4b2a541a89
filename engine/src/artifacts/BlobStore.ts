import { constants, copyFileSync, existsSync, readdirSync } from "node:fs";
import { copyFile, mkdir, rename, writeFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { sha256Hex, type Digest } from "../fingerprint/digest.js";

/**
 * Content-addressed files under `<workspace>/blobs/sha256/ab/abcdef…`. Writes go to a temp
 * name and are renamed into place, so a blob that exists is always complete, even if the
 * writer was killed.
 */
export class BlobStore {
  constructor(readonly root: string) {}

  pathOf(digest: Digest): string {
    return join(this.root, "sha256", digest.slice(0, 2), digest);
  }

  /** Every complete blob: its digest and path (partial uploads and temp files are not listed). */
  list(): { readonly digest: Digest; readonly path: string }[] {
    const root = join(this.root, "sha256");
    if (!existsSync(root)) return [];
    const blobs: { digest: Digest; path: string }[] = [];
    for (const shard of readdirSync(root, { withFileTypes: true })) {
      if (!shard.isDirectory()) continue;
      for (const name of readdirSync(join(root, shard.name))) if (/^[0-9a-f]{64}$/.test(name)) blobs.push({ digest: name as Digest, path: join(root, shard.name, name) });
    }
    return blobs;
  }

  async has(digest: Digest): Promise<boolean> {
    // One stat on this thread: the asynchronous one was a thread-pool round trip per source file
    // of every submit, where the blob is there but for new code.
    return existsSync(this.pathOf(digest));
  }

  /** Stores a file whose digest the caller already knows (from the stat cache). */
  async putFile(source: string, digest: Digest): Promise<void> {
    if (await this.has(digest)) return;
    const dest = this.pathOf(digest);
    await mkdir(join(dest, ".."), { recursive: true });
    const tmp = `${dest}.${randomUUID()}.tmp`;
    await copyFile(source, tmp, constants.COPYFILE_FICLONE);
    await rename(tmp, dest);
  }

  async putBytes(data: string | Uint8Array): Promise<Digest> {
    const digest = sha256Hex(data);
    if (await this.has(digest)) return digest;
    const dest = this.pathOf(digest);
    await mkdir(join(dest, ".."), { recursive: true });
    const tmp = `${dest}.${randomUUID()}.tmp`;
    await writeFile(tmp, data);
    await rename(tmp, dest);
    return digest;
  }

  async readText(digest: Digest): Promise<string> {
    return readFile(this.pathOf(digest), "utf8");
  }

  /** Copies a blob out to a working location (a clone where the filesystem supports it). */
  async copyOut(digest: Digest, dest: string): Promise<void> {
    await copyFile(this.pathOf(digest), dest, constants.COPYFILE_FICLONE);
  }

  /** copyOut on the calling thread: for a few small files, cheaper than a thread-pool round trip each. */
  copyOutSync(digest: Digest, dest: string): void {
    copyFileSync(this.pathOf(digest), dest, constants.COPYFILE_FICLONE);
  }
}
