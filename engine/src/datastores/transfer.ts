import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { chmod, copyFile, mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import type { AnyDatastore } from "../dsl/Datastore.js";
import type { AzureBlobDatastore } from "./AzureBlobDatastore.js";
import { DatastoreError } from "../dsl/DatastoreFailure.js";
import { digestOfJson } from "../fingerprint/digest.js";
import { walk } from "../fingerprint/hashTree.js";
import { unsealTree } from "../datasets/readOnlyTree.js";
import { StatCache } from "../store/StatCache.js";

/** A file or folder on a datastore. */
export interface DatastorePath {
  readonly store: AnyDatastore;
  readonly path: string;
}

/**
 * The content of a path in one scheme for both kinds of datastore: the MD5 of every file with
 * its place, as a blob datastore gets it from Content-MD5. A local file's MD5 is recorded by
 * its stat stamp, so an unchanged file is not read again. Undefined when nothing is there.
 */
export async function transferDigest(at: DatastorePath, cache: StatCache): Promise<string | undefined> {
  if (at.store.kind === "azure-blob") {
    const entries = await at.store.list(at.path);
    return entries.length === 0 ? undefined : (await at.store.content(at.path)).digest;
  }
  const abs = at.store.resolve(at.path);
  const st = await stat(abs).catch(() => undefined);
  if (!st) return undefined;
  const files: [string, string][] = [];
  if (st.isDirectory()) {
    const entries = (await walk(abs)).sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
    for (const e of entries) files.push([e.rel, await md5Of(e.abs, cache)]);
  } else {
    files.push(["", await md5Of(abs, cache)]);
  }
  return digestOfJson({ remote: "md5", layout: st.isDirectory() ? "folder" : "file", files });
}

/**
 * Copies the file or folder at `from` to exactly `to` (replacing what is there), between any two
 * datastores: a blob source is read through its local copy (downloaded once per content), and
 * each destination write is atomic per file (a blob) or per path (a local folder's rename).
 */
export async function transfer(from: DatastorePath, to: DatastorePath): Promise<void> {
  if (from.store.kind === "azure-blob" && to.store.kind === "azure-blob" && (await from.store.serviceUrl()) === (await to.store.serviceUrl())) {
    return copyWithinAccount(from.store, from.path, to.store, to.path);
  }
  const source = from.store.kind === "local" ? from.store.resolve(from.path) : await from.store.localCopy(from.path);
  const st = await stat(source).catch(() => undefined);
  if (!st) throw new DatastoreError({ reason: "nothing-at", store: from.store.name, path: from.path });
  const dest = to.path.replace(/^\/+|\/+$/g, "");
  if (dest === "") throw new DatastoreError({ reason: "transfer-to-root", store: to.store.name });
  if (st.isDirectory()) {
    await to.store.uploadDirectory(source, { targetPath: dest, overwrite: true });
    // A blob source's local copy is sealed (read-only) and a copy keeps its modes: give the owner
    // write permission back, or a later transfer could not replace the folder (as a user other than root).
    if (to.store.kind === "local" && from.store.kind === "azure-blob") await unsealTree(to.store.resolve(dest));
    return;
  }
  // A file lands at exactly the destination path: uploaded from a copy named like it.
  const staging = await mkdtemp(join(tmpdir(), "pipebook-transfer-"));
  try {
    const named = join(staging, basename(dest));
    await copyFile(source, named);
    await chmod(named, (await stat(named)).mode | 0o200); // a blob source's copy is read-only; the destination's file is not

    await to.store.uploadFiles([named], { targetPath: dirname(dest) === "." ? "" : dirname(dest), overwrite: true });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Blob to blob on one account: the service copies each blob; blobs the destination folder no longer has are removed. */
async function copyWithinAccount(from: AzureBlobDatastore, fromPath: string, to: AzureBlobDatastore, toPath: string): Promise<void> {
  const entries = await from.list(fromPath);
  if (entries.length === 0) throw new DatastoreError({ reason: "nothing-at", store: from.name, path: fromPath });
  const dest = toPath.replace(/^\/+|\/+$/g, "");
  if (dest === "") throw new DatastoreError({ reason: "transfer-to-root", store: to.name });
  const pairs = entries.map((e) => [e.blobName, e.rel === "" ? dest : `${dest}/${e.rel}`] as const);
  const before = await to.list(dest);
  await to.copyFromSameAccount(from, pairs);
  const kept = new Set(pairs.map(([, n]) => n));
  await to.removeBlobs(before.map((e) => e.blobName).filter((n) => !kept.has(n)));
}

async function md5Of(file: string, cache: StatCache): Promise<string> {
  const st = await stat(file, { bigint: true });
  const key = `md5:${file}`;
  const stamp = StatCache.stamp(st);
  const known = cache.lookupStamp(key, stamp);
  if (known) return known;
  const hash = createHash("md5");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  const md5 = hash.digest("hex");
  // Like the stat cache: a file written within the last second may change again in the same tick.
  if (BigInt(Date.now()) * 1_000_000n - st.mtimeNs >= 1_000_000_000n) cache.rememberStamp(key, stamp, md5);
  return md5;
}
