import { randomUUID } from "node:crypto";
import { constants } from "node:fs";
import { copyFile, cp, lstat, mkdir, open, readdir, realpath, rename, rm, stat } from "node:fs/promises";
import type { Stats } from "node:fs";
import { basename, dirname, isAbsolute, join, normalize, relative, resolve, sep } from "node:path";
import { DatastoreError } from "../dsl/DatastoreFailure.js";
import type { AzureBlobDatastore } from "./AzureBlobDatastore.js";
import type { Workspace } from "../workspace/Workspace.js";
import type { AnyDatastore, AzureBlobContainerOptions, UploadOptions } from "../dsl/Datastore.js";
import type { DatasetServices } from "../datasets/datasetServices.js";

export type { AnyDatastore, AzureBlobContainerOptions, TransferProgress, UploadOptions } from "../dsl/Datastore.js";

/**
 * A named place for data. The local kind keeps files in a folder of the workspace; the
 * object-store kind (Azure Blob protocol) will implement the same surface, so steps and
 * DataReferences never see which one they use.
 */
export class Datastore {
  readonly kind = "local" as const;

  /**
   * Registers (or replaces) an Azure Blob container as a named datastore of the workspace, kept
   * in its store. The credentials are checked now: a wrong key or an unreachable account fails
   * here, with one sentence, and nothing is registered.
   */
  static async registerAzureBlobContainer(ws: Workspace, options: AzureBlobContainerOptions): Promise<AzureBlobDatastore> {
    const { name, createIfNotExists, ...settings } = options;
    refuseSecrets(options);
    return (await ws.registerDatastore(name, { kind: "azure-blob", ...settings }, { createIfNotExists: createIfNotExists ?? false })) as AzureBlobDatastore;
  }

  /** Registers (or replaces) a local folder as a named datastore (a relative path is relative to the project folder). */
  static registerLocalFolder(ws: Workspace, options: { name: string; path: string }): Promise<Datastore> {
    return ws.registerDatastore(options.name, { kind: "local", path: options.path }) as Promise<Datastore>;
  }

  /** A datastore of the workspace by name; an unknown name is an error naming the ones there are. */
  static get(ws: Workspace, name: string): AnyDatastore {
    const store = ws.getDatastore(name);
    if (!store) throw new DatastoreError({ reason: "datastore-unknown", name, known: [...ws.datastores.keys()] });
    return store;
  }

  constructor(
    readonly name: string,
    /** Folder holding the datastore's files. */
    readonly root: string,
    /** The workspace's dataset services: a dataset declared on this datastore reads its files through them. */
    readonly datasets?: DatasetServices,
  ) {}

  /** Absolute local path of a path on this datastore; refuses paths that climb out of it. */
  resolve(pathOnDatastore: string): string {
    const clean = normalize(pathOnDatastore.replace(/^\/+/, ""));
    if (isAbsolute(pathOnDatastore) && !pathOnDatastore.startsWith("/")) {
      throw new DatastoreError({ reason: "path-absolute", store: this.name, path: pathOnDatastore });
    }
    const abs = resolve(this.root, clean);
    if (abs !== this.root && !abs.startsWith(this.root + sep)) {
      throw new DatastoreError({ reason: "path-leaves", store: this.name, path: pathOnDatastore });
    }
    return abs;
  }

  async exists(pathOnDatastore: string): Promise<boolean> {
    return stat(this.resolve(pathOnDatastore)).then(() => true, () => false);
  }

  /** Uploads files into `targetPath`, each under its own base name. Returns the datastore paths. */
  async uploadFiles(files: readonly string[], options: UploadOptions = {}): Promise<string[]> {
    const target = options.targetPath ?? "";
    const written: string[] = [];
    for (const file of files) {
      const st = await stat(file).catch(() => undefined);
      if (!st?.isFile()) throw new DatastoreError({ reason: "upload-file-missing", file });
      const dest = join(target, basename(file));
      // A pipeline file that uploads its inputs on every run (`overwrite: true`) finds them there
      // unchanged on a rerun: the file is left as it is, so its stat (and the hash the stat cache
      // keeps for it) stays valid, instead of a new copy that every step reading it hashes again.
      if (options.overwrite && (await this.holdsCopyOf(dest, file, st))) {
        written.push(dest.split(sep).join("/"));
        reportCopied(this.name, written.at(-1)!, st.size, options);
        continue;
      }
      await this.writeAtomically(dest, options.overwrite ?? false, (tmp) => copyFile(file, tmp, constants.COPYFILE_FICLONE));
      written.push(dest.split(sep).join("/"));
      reportCopied(this.name, written.at(-1)!, st.size, options);
    }
    return written;
  }

  /**
   * Uploads a whole folder to `targetPath` (default: the folder's name). Files are copied;
   * a symbolic link in the folder is refused, so an upload never carries a path that a later
   * write could follow out of the datastore.
   */
  async uploadDirectory(srcDir: string, options: UploadOptions = {}): Promise<string> {
    const st = await stat(srcDir).catch(() => undefined);
    if (!st?.isDirectory()) throw new DatastoreError({ reason: "upload-folder-missing", dir: srcDir });
    const dest = options.targetPath ?? basename(srcDir);
    if (dest.replace(/^[/.]+|\/+$/g, "") === "") {
      throw new DatastoreError({ reason: "upload-to-root", store: this.name, dir: srcDir });
    }
    const link = await firstLink(srcDir);
    if (link) throw new DatastoreError({ reason: "upload-link", dir: srcDir, link });
    await this.writeAtomically(dest, options.overwrite ?? false, (tmp) => cp(srcDir, tmp, { recursive: true }));
    if (options.onProgress || options.showProgress) {
      for (const rel of (await readdir(srcDir, { recursive: true })).sort()) {
        const st = await stat(join(srcDir, rel));
        if (st.isFile()) reportCopied(this.name, `${dest}/${rel.split(sep).join("/")}`, st.size, options);
      }
    }
    return dest;
  }

  /** Copies `pathOnDatastore` (file or folder) to `targetDir`, keeping its datastore-relative path. */
  async download(targetDir: string, options: { prefix?: string; overwrite?: boolean } = {}): Promise<string> {
    const prefix = options.prefix ?? "";
    const src = this.resolve(prefix);
    if (!(await this.exists(prefix))) {
      throw new DatastoreError({ reason: "nothing-at", store: this.name, path: prefix });
    }
    const dest = join(targetDir, prefix);
    if (!options.overwrite && (await stat(dest).then(() => true, () => false))) {
      throw new DatastoreError({ reason: "download-target-exists", dest });
    }
    await mkdir(dirname(dest), { recursive: true });
    await cp(src, dest, { recursive: true, force: true });
    return dest;
  }

  /**
   * Whether `pathOnDatastore` is already a regular file with `file`'s content and permissions
   * (what copying it would leave there): same size and mode, then the same bytes, read and
   * compared (a size or a time stamp alone cannot say a file is unchanged).
   */
  private async holdsCopyOf(pathOnDatastore: string, file: string, st: Stats): Promise<boolean> {
    const dest = this.resolve(pathOnDatastore);
    await this.refuseLinkOut(pathOnDatastore, dest);
    const there = await lstat(dest).catch(() => undefined);
    if (!there?.isFile() || there.size !== st.size || (there.mode & 0o7777) !== (st.mode & 0o7777)) return false;
    return sameBytes(file, dest, st.size);
  }

  /** Writes to a temp sibling and renames, so a killed upload never leaves half a file behind. */
  private async writeAtomically(pathOnDatastore: string, overwrite: boolean, write: (tmp: string) => Promise<void>): Promise<void> {
    const dest = this.resolve(pathOnDatastore);
    await this.refuseLinkOut(pathOnDatastore, dest);
    if (!overwrite && (await stat(dest).then(() => true, () => false))) {
      throw new DatastoreError({ reason: "already-has", store: this.name, path: relative(this.root, dest) });
    }
    await mkdir(dirname(dest), { recursive: true });
    const tmp = join(dirname(dest), `.${basename(dest)}.${randomUUID()}.upload`);
    try {
      await write(tmp);
      if (overwrite) await rm(dest, { recursive: true, force: true });
      await rename(tmp, dest);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** A write below a link that leads out of the datastore (left there by a step or by hand) is refused. */
  private async refuseLinkOut(pathOnDatastore: string, dest: string): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const realRoot = await realpath(this.root);
    let existing = dirname(dest);
    while (!(await stat(existing).then(() => true, () => false))) existing = dirname(existing);
    const real = await realpath(existing);
    if (real !== realRoot && !real.startsWith(realRoot + sep)) {
      throw new DatastoreError({ reason: "write-through-link", store: this.name, path: pathOnDatastore });
    }
  }
}

/** A local copy is one system call: its progress is the whole file, once it is there. */
function reportCopied(store: string, path: string, bytes: number, options: UploadOptions): void {
  options.onProgress?.({ path, loadedBytes: bytes, totalBytes: bytes });
  if (options.showProgress) process.stderr.write(`[pipebook] ${store}: ${path} 100% of ${bytes} bytes\n`);
}

/** Whether two files of `size` bytes hold the same bytes (read side by side, 1 MiB at a time). */
async function sameBytes(a: string, b: string, size: number): Promise<boolean> {
  const [fa, fb] = await Promise.all([open(a, "r"), open(b, "r")]);
  try {
    const chunk = Math.min(size, 1 << 20);
    const ba = Buffer.allocUnsafe(chunk), bb = Buffer.allocUnsafe(chunk);
    for (let at = 0; at < size; ) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, chunk, at), fb.read(bb, 0, chunk, at)]);
      if (ra.bytesRead !== rb.bytesRead || ra.bytesRead === 0) return false;
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
      at += ra.bytesRead;
    }
    return true;
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

/** The seeds pass keys in clear; pipebook keeps only the name of the variable holding one. */
function refuseSecrets(options: object): void {
  for (const key of ["accountKey", "sasToken", "connectionString"]) {
    if (key in options) {
      throw new DatastoreError({ reason: "secret-passed", store: String((options as { name?: unknown }).name), key });
    }
  }
}

/** The first symbolic link under `dir`, relative to it, or undefined. */
async function firstLink(dir: string, rel = ""): Promise<string | undefined> {
  for (const d of await readdir(join(dir, rel), { withFileTypes: true })) {
    const childRel = rel === "" ? d.name : `${rel}/${d.name}`;
    if (d.isSymbolicLink()) return childRel;
    if (d.isDirectory()) {
      const found = await firstLink(dir, childRel);
      if (found) return found;
    }
  }
  return undefined;
}
