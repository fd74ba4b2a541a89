import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { ContainerClient, StoragePipelineOptions } from "@azure/storage-blob";
import { PipebookError } from "../errors/PipebookError.js";
import { DatastoreError, type BlobService } from "../dsl/DatastoreFailure.js";
import { digestOfJson, type Digest } from "../fingerprint/digest.js";
import type { StatCache } from "../store/StatCache.js";
import type { DatasetServices } from "../datasets/datasetServices.js";
import { sealTree } from "../datasets/readOnlyTree.js";
import type { AzureBlobDatastoreConfig } from "../dsl/datastoreConfig.js";
import type { TransferProgress, UploadOptions } from "../dsl/Datastore.js";

/** One blob under a path: its name inside the path, and what the service says of its content. */
export interface RemoteEntry {
  /** "" for the blob the path names itself; else its name below the path's folder. */
  readonly rel: string;
  readonly blobName: string;
  readonly etag: string;
  readonly size: number;
  /** Content-MD5 as the service has it (hex), when it has one. */
  readonly md5?: string;
}

/** A path's content as a key needs it: a digest from MD5s, and what lies there. */
export interface RemoteContent {
  readonly digest: Digest;
  readonly layout: "file" | "folder";
  readonly entries: readonly RemoteEntry[];
}

/** What a blob datastore uses of its workspace: where copies of remote content go, and the digest record. */
export interface BlobDatastoreContext {
  /** `<store>/remote`: copies of remote content, one folder per content digest. */
  readonly cacheDir: string;
  readonly statCache: StatCache;
  /** The workspace's dataset services: a dataset declared on this datastore reads its files through them. */
  readonly datasets?: DatasetServices;
}

/** Retries of transient errors (timeouts, 5xx, dropped connections): the SDK's exponential policy, bounded. */
const RETRIES: StoragePipelineOptions["retryOptions"] = { maxTries: 4, retryDelayInMs: 200, maxRetryDelayInMs: 2_000, tryTimeoutInMs: 120_000 };
const BLOCK_SIZE = 4 << 20;
/** Files of a folder moved at once (each large one also moves 4 blocks at once). */
const PARALLEL_FILES = 8;

/**
 * A datastore on an Azure Blob container (or anything speaking the protocol, such as Azurite).
 * Settings only are kept; credentials are read from the environment variable the settings
 * name, when the container is first used. The same surface as a local folder datastore.
 */
export class AzureBlobDatastore {
  readonly kind = "azure-blob" as const;
  private client: Promise<ContainerClient> | undefined;

  constructor(
    readonly name: string,
    readonly config: AzureBlobDatastoreConfig,
    private readonly ctx: BlobDatastoreContext,
  ) {}

  /** How datasets on this datastore are read without a workspace at hand (the workspace that made it gives them). */
  get datasets(): DatasetServices | undefined {
    return this.ctx.datasets;
  }

  get accountName(): string {
    return this.config.accountName;
  }

  get containerName(): string {
    return this.config.containerName;
  }

  /** `azure-blob://account/container/path`: how errors and records name a path here. */
  url(pathOnDatastore = ""): string {
    return `azure-blob://${this.accountName}/${this.containerName}/${clean(pathOnDatastore, this.name)}`;
  }

  /** Checks the credentials and that the container is there (or makes it with createIfNotExists). */
  async verify(options: { createIfNotExists?: boolean } = {}): Promise<void> {
    const c = await this.container();
    const exists = await this.call("reach", () => c.exists());
    if (exists) return;
    if (!options.createIfNotExists) {
      throw new DatastoreError({ reason: "container-missing", service: this.service });
    }
    await this.call("create the container", () => c.createIfNotExists());
  }

  async exists(pathOnDatastore: string): Promise<boolean> {
    return (await this.list(pathOnDatastore)).length > 0;
  }

  /** Uploads files into `targetPath`, each under its own base name (one blob each). Returns the datastore paths. */
  async uploadFiles(files: readonly string[], options: UploadOptions = {}): Promise<string[]> {
    const target = clean(options.targetPath ?? "", this.name);
    for (const file of files) {
      const st = await stat(file).catch(() => undefined);
      if (!st?.isFile()) throw new DatastoreError({ reason: "upload-file-missing", file });
    }
    const written: string[] = [];
    try {
      for (const file of files) {
        const dest = target === "" ? basename(file) : `${target}/${basename(file)}`;
        await this.putFile(file, dest, options.overwrite ?? false, options);
        written.push(dest);
      }
    } catch (err) {
      // Nothing half-done: blobs this call made are removed again (an overwritten one cannot be restored).
      if (!options.overwrite) await this.removeBlobs(written);
      throw err;
    }
    return written;
  }

  /**
   * Uploads a folder to `targetPath` (default: its name). Without `overwrite` the path must be
   * free; with it, blobs under the path that the folder does not have are removed afterwards.
   */
  async uploadDirectory(srcDir: string, options: UploadOptions = {}): Promise<string> {
    const st = await stat(srcDir).catch(() => undefined);
    if (!st?.isDirectory()) throw new DatastoreError({ reason: "upload-folder-missing", dir: srcDir });
    const dest = clean(options.targetPath ?? basename(srcDir), this.name);
    if (dest === "") throw new DatastoreError({ reason: "upload-to-root", store: this.name, dir: srcDir });
    const before = await this.list(dest);
    if (before.length > 0 && !options.overwrite) {
      throw new DatastoreError({ reason: "already-has", store: this.name, path: dest });
    }
    const files = await listFiles(srcDir);
    const written: string[] = [];
    try {
      await forEachLimit(files, PARALLEL_FILES, async (rel) => {
        await this.putFile(join(srcDir, rel), `${dest}/${rel}`, options.overwrite ?? false, options);
        written.push(`${dest}/${rel}`);
      });
    } catch (err) {
      if (!options.overwrite) await this.removeBlobs(written);
      throw err;
    }
    const kept = new Set(written);
    await this.removeBlobs(before.map((e) => e.blobName).filter((n) => !kept.has(n)));
    return dest;
  }

  /** Copies the blob or folder at `prefix` into `targetDir`, keeping its datastore-relative path. */
  async download(targetDir: string, options: { prefix?: string; overwrite?: boolean; onProgress?: (p: TransferProgress) => void; showProgress?: boolean } = {}): Promise<string> {
    const prefix = clean(options.prefix ?? "", this.name);
    const entries = await this.list(prefix);
    if (entries.length === 0) throw new DatastoreError({ reason: "nothing-at", store: this.name, path: prefix });
    const dest = join(targetDir, prefix);
    if (!options.overwrite && (await stat(dest).then(() => true, () => false))) {
      throw new DatastoreError({ reason: "download-target-exists", dest });
    }
    const tmp = join(dirname(dest), `.${basename(dest) || "download"}.${randomUUID()}.download`);
    try {
      await this.fetchEntries(entries, tmp, options);
      if (options.overwrite) await rm(dest, { recursive: true, force: true });
      await mkdir(dirname(dest), { recursive: true });
      await rename(tmp, dest);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    return dest;
  }

  /**
   * The blob `path` names, or the blobs below it as a folder, with ETag and Content-MD5. A path
   * that is both a blob and a folder reads as the blob.
   */
  async list(pathOnDatastore: string): Promise<RemoteEntry[]> {
    const path = clean(pathOnDatastore, this.name);
    const c = await this.container();
    return this.call(`list "${path}"`, async () => {
      const out: RemoteEntry[] = [];
      const prefix = path === "" ? "" : `${path}/`;
      for await (const b of c.listBlobsFlat({ prefix: path })) {
        const entry = { blobName: b.name, etag: b.properties.etag ?? "", size: b.properties.contentLength ?? 0, ...(b.properties.contentMD5 && { md5: Buffer.from(b.properties.contentMD5).toString("hex") }) };
        if (b.name === path) return [{ ...entry, rel: "" }];
        if (b.name.startsWith(prefix)) out.push({ ...entry, rel: b.name.slice(prefix.length) });
      }
      return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
    });
  }

  /**
   * The content digest of a path, from the service's Content-MD5 of each blob; a blob without one
   * is read and hashed once per ETag (recorded like a file's stat stamp), so an unchanged remote
   * input costs a listing, never a download.
   */
  async content(pathOnDatastore: string): Promise<RemoteContent> {
    const entries = await this.list(pathOnDatastore);
    if (entries.length === 0) throw new DatastoreError({ reason: "nothing-at", store: this.name, path: clean(pathOnDatastore, this.name) });
    const files: [string, string][] = [];
    const withMd5: RemoteEntry[] = [];
    for (const e of entries) {
      const md5 = e.md5 ?? (await this.md5Of(e));
      files.push([e.rel, md5]);
      withMd5.push({ ...e, md5 });
    }
    const layout = entries[0]!.rel === "" ? "file" : "folder";
    return { digest: digestOfJson({ remote: "md5", layout, files }), layout, entries: withMd5 };
  }

  /**
   * A local, read-only copy of a path's content: `<store>/remote/<digest of content and name>/<name>`,
   * downloaded once per content and name (every blob's MD5 checked) and renamed into place complete.
   */
  async localCopy(pathOnDatastore: string, known?: RemoteContent): Promise<string> {
    const content = known ?? (await this.content(pathOnDatastore));
    // Keyed by content and name: the same content under another name is another copy (steps see the name).
    const name = basename(clean(pathOnDatastore, this.name)) || "root";
    const dir = join(this.ctx.cacheDir, digestOfJson({ content: content.digest, name }));
    const path = join(dir, name);
    if (await stat(dir).then(() => true, () => false)) return path;
    const tmp = `${dir}.${randomUUID()}.tmp`;
    try {
      await this.fetchEntries(content.entries, join(tmp, basename(path)));
      await sealTree(tmp);
      await rename(tmp, dir).catch(async (err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
      });
    } finally {
      // datasetFiles (and readTable with it) loads here: every workspace imports this class.
      await (await import("../datasets/datasetFiles.js")).removeLayout(tmp);
    }
    return path;
  }

  /** Writes one local file as `blobName` (MD5 set, so digests never need a download); atomic per blob. */
  async putFile(file: string, blobName: string, overwrite: boolean, options: { onProgress?: (p: TransferProgress) => void; showProgress?: boolean } = {}): Promise<void> {
    const c = await this.container();
    const md5 = await md5File(file);
    const total = (await stat(file)).size;
    const report = progressReporter(this.name, blobName, total, options);
    await this.call(`upload "${blobName}"`, () =>
      c.getBlockBlobClient(blobName).uploadFile(file, {
        blockSize: BLOCK_SIZE, concurrency: 4, blobHTTPHeaders: { blobContentMD5: md5 },
        ...(overwrite ? {} : { conditions: { ifNoneMatch: "*" } }),
        ...(report && { onProgress: (p: { loadedBytes: number }) => report(p.loadedBytes) }),
      }),
    );
  }

  /** Where this datastore's service is (scheme, host, port and account path): two datastores with the same one can copy server-side. */
  async serviceUrl(): Promise<string> {
    const c = await this.container();
    return c.url.slice(0, c.url.length - this.containerName.length).replace(/\/+$/, "");
  }

  /**
   * Copies blobs of `source` (on the same account: see serviceUrl) to names here, by the service
   * itself (Copy Blob, authorized by this datastore's credential; the content never passes through
   * this machine, Content-MD5 and all properties go with it).
   */
  async copyFromSameAccount(source: AzureBlobDatastore, pairs: readonly (readonly [from: string, to: string])[]): Promise<void> {
    const src = await source.container();
    const dst = await this.container();
    await forEachLimit(pairs, PARALLEL_FILES, async ([from, to]) => {
      await this.call(`copy "${from}" of datastore ${source.name} to "${to}"`, async () => {
        const poller = await dst.getBlobClient(to).beginCopyFromURL(src.getBlobClient(from).url, { intervalInMs: 100 });
        const done = await poller.pollUntilDone();
        if (done.copyStatus !== "success") throw new Error(`copy ended ${done.copyStatus ?? "without a status"}`);
      });
    });
  }

  /** Deletes blobs by name (those not there are skipped). */
  async removeBlobs(names: readonly string[]): Promise<void> {
    const c = await this.container();
    for (const n of names) await c.getBlobClient(n).deleteIfExists().catch(() => undefined);
  }

  private async fetchEntries(entries: readonly RemoteEntry[], dest: string, progress: { onProgress?: (p: TransferProgress) => void; showProgress?: boolean } = {}): Promise<void> {
    const c = await this.container();
    await forEachLimit(entries, PARALLEL_FILES, async (e) => {
      const file = e.rel === "" ? dest : join(dest, ...e.rel.split("/"));
      await mkdir(dirname(file), { recursive: true });
      const report = progressReporter(this.name, e.blobName, e.size, progress);
      await this.call(`download "${e.blobName}"`, () =>
        c.getBlobClient(e.blobName).downloadToFile(file, 0, undefined, {
          ...(report && { onProgress: (p: { loadedBytes: number }) => report(p.loadedBytes) }),
        }),
      );
      if (e.md5 && (await md5File(file)).toString("hex") !== e.md5) {
        throw new DatastoreError({ reason: "content-changed", store: this.name, blob: e.blobName });
      }
    });
  }

  /** MD5 of a blob without a Content-MD5: read once, recorded by its ETag. */
  private async md5Of(e: RemoteEntry): Promise<string> {
    const key = `${this.url()}${e.blobName}`;
    const known = this.ctx.statCache.lookupStamp(key, e.etag);
    if (known) return known;
    const c = await this.container();
    const body = await this.call(`read "${e.blobName}"`, async () => (await c.getBlobClient(e.blobName).download(0, undefined, { conditions: { ifMatch: e.etag } })).readableStreamBody!);
    const hash = createHash("md5");
    for await (const chunk of body) hash.update(chunk as Buffer);
    const md5 = hash.digest("hex");
    this.ctx.statCache.rememberStamp(key, e.etag, md5);
    return md5;
  }

  private container(): Promise<ContainerClient> {
    this.client ??= (async () => {
      const { BlobServiceClient, StorageSharedKeyCredential, AnonymousCredential } = await import("@azure/storage-blob");
      const cfg = this.config;
      const options: StoragePipelineOptions = { retryOptions: RETRIES };
      const secret = (env: string, what: string): string => {
        const v = process.env[env];
        if (!v) throw new DatastoreError({ reason: "env-unset", store: this.name, what, env });
        return v;
      };
      const endpoint = cfg.endpoint ?? `https://${cfg.accountName}.blob.core.windows.net`;
      let service;
      if (cfg.accountKeyEnv) service = new BlobServiceClient(endpoint, new StorageSharedKeyCredential(cfg.accountName, secret(cfg.accountKeyEnv, "account key")), options);
      else if (cfg.sasTokenEnv) service = new BlobServiceClient(`${endpoint}?${secret(cfg.sasTokenEnv, "SAS token").replace(/^\?/, "")}`, new AnonymousCredential(), options);
      else {
        const env = cfg.connectionStringEnv ?? "AZURE_STORAGE_CONNECTION_STRING";
        try {
          service = BlobServiceClient.fromConnectionString(secret(env, "connection string"), options);
        } catch (err) {
          if (err instanceof PipebookError) throw err;
          throw new DatastoreError({ reason: "connection-string-invalid", store: this.name, env, message: (err as Error).message });
        }
        // The connection string names the account and its endpoint: accountName must agree, not be ignored.
        if (service.accountName !== cfg.accountName) {
          throw new DatastoreError({ reason: "connection-string-account", store: this.name, env, accountName: cfg.accountName, named: service.accountName });
        }
      }
      return service.getContainerClient(cfg.containerName);
    })();
    // A missing variable is said again at the next use (it may be set by then), not remembered.
    this.client.catch(() => (this.client = undefined));
    return this.client;
  }

  /** Runs one service call; what the service or the network says becomes one sentence naming the datastore. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.explain(what, err);
    }
  }

  private get service(): BlobService {
    return { store: this.name, account: this.accountName, container: this.containerName };
  }

  private explain(what: string, err: unknown): Error {
    if (err instanceof PipebookError) return err;
    const e = err as { statusCode?: number; code?: string; details?: { errorCode?: string }; message?: string };
    const code = e.details?.errorCode ?? e.code;
    const service = this.service;
    if (e.statusCode === 403 || code === "AuthenticationFailed" || code === "AuthorizationFailure") {
      return new DatastoreError({ reason: "credentials-refused", service, action: what, code: code ?? "403" }, { cause: err });
    }
    if (code === "BlobAlreadyExists" || e.statusCode === 409 || (e.statusCode === 412 && code === "ConditionNotMet")) {
      return new DatastoreError({ reason: "already-has", store: this.name, path: what.replace(/^upload "|"$/g, "") }, { cause: err });
    }
    if (code === "ContainerNotFound") return new DatastoreError({ reason: "container-gone", service }, { cause: err });
    if (e.statusCode === undefined || e.statusCode === 0 || ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "REQUEST_SEND_ERROR"].includes(code ?? "")) {
      return new DatastoreError({ reason: "service-unreachable", service, action: what, message: e.message ?? code ?? "" }, { cause: err });
    }
    return new DatastoreError({ reason: "service-failed", service, action: what, message: e.message ?? String(err) }, { cause: err });
  }
}

/** A datastore path without leading or trailing slashes; one that climbs out (`..`) is refused. */
export function clean(path: string, store: string): string {
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new DatastoreError({ reason: "path-leaves", store, path });
  return parts.join("/");
}

/**
 * Runs `fn` over `items`, at most `limit` at a time. After a failure no new item starts; the
 * ones running finish (so callers know what was written) and the first error is thrown.
 */
async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}

async function md5File(file: string): Promise<Buffer> {
  const hash = createHash("md5");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest();
}

/** Files below `dir`, relative with "/", sorted; a symbolic link is refused (uploads copy files, not links). */
async function listFiles(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(join(dir, rel), { withFileTypes: true })) {
    const childRel = rel === "" ? d.name : `${rel}/${d.name}`;
    if (d.isSymbolicLink()) throw new DatastoreError({ reason: "upload-link", dir, link: childRel });
    if (d.isDirectory()) out.push(...(await listFiles(dir, childRel)));
    else if (d.isFile()) out.push(childRel);
  }
  return out.sort();
}

/** Progress of a large transfer: to `onProgress`, and with `showProgress` a line per tenth on stderr. */
function progressReporter(store: string, blobName: string, total: number, options: { onProgress?: (p: TransferProgress) => void; showProgress?: boolean }): ((loaded: number) => void) | undefined {
  if (!options.onProgress && !options.showProgress) return undefined;
  let shown = 0;
  return (loaded) => {
    options.onProgress?.({ path: blobName, loadedBytes: loaded, totalBytes: total });
    const tenth = total === 0 ? 10 : Math.floor((loaded / total) * 10);
    if (options.showProgress && tenth > shown) {
      shown = tenth;
      process.stderr.write(`[pipebook] ${store}: ${blobName} ${tenth * 10}% of ${total} bytes\n`);
    }
  };
}

