import { constants, createWriteStream } from "node:fs";
import { copyFile, mkdir, rename, rm, stat } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { basename, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import type { AnyDatastore } from "../dsl/Datastore.js";
import { createRequire } from "node:module";
import type { Workspace } from "../workspace/Workspace.js";
import { PipebookError } from "../errors/PipebookError.js";
import { DatasetError } from "./DatasetFailure.js";
import { asDigest, digestOfJson, type Digest } from "../fingerprint/digest.js";
import { hashEntries, walk, type Entry } from "../fingerprint/hashTree.js";
import type { DatasetDefinition, DatasetVersion } from "./DatasetDefinition.js";
import { readTable, type TableFile } from "./readTable.js";
import { isWritable, sealTree, unsealTree } from "./readOnlyTree.js";

/** CommonJS, required: an `import` runs Node's export lexer over it (see fingerprint/snapshotSource.ts). */
const ignore = createRequire(import.meta.url)("ignore") as typeof import("ignore");

/** One file of a dataset: its name inside the dataset, where it is now, and how to name it in errors. */
export interface DatasetFile {
  readonly rel: string;
  readonly abs: string;
  readonly label: string;
}

/** The content of a dataset: its files and their digests, in reading order. */
export interface DatasetContent {
  readonly files: readonly (readonly [rel: string, digest: Digest])[];
  readonly bytes: number;
  /** Digest of the content together with how it is read: what materialization and keys use. */
  readonly digest: Digest;
}

// A path with `*`, `?` or `[` in it is a glob: `data/*.csv`, `logs/**/*.json`.
const GLOB_CHARS = /[*?[]/;

/**
 * A glob path split into the folder before its first wildcard segment and the pattern below
 * that folder; undefined for a plain path.
 */
export function splitGlob(path: string): { readonly base: string; readonly pattern: string } | undefined {
  if (!GLOB_CHARS.test(path)) return undefined;
  const segments = path.replace(/^\/+/, "").split("/");
  const first = segments.findIndex((s) => GLOB_CHARS.test(s));
  return { base: segments.slice(0, first).join("/"), pattern: segments.slice(first).join("/") };
}

/**
 * The files a definition names, in order: a file as itself, a folder's files (sorted) under
 * the folder's name, a glob's matching files (sorted) by their path below the glob's folder.
 * A path that is not there, or a glob that matches nothing, is an error naming it.
 *
 * Globs are matched as .gitignore patterns anchored at the glob's folder (the `ignore` package
 * the snapshots already use): `*` and `?` stay within a folder, `**` crosses folders, `[a-c]`
 * is a class; a folder that matches brings all its files, as in .gitignore.
 */
export async function listDatasetFiles(datastores: (name: string) => AnyDatastore | undefined, def: DatasetDefinition): Promise<DatasetFile[]> {
  const out: DatasetFile[] = [];
  for (const p of def.paths) {
    const store = datastores(p.datastore);
    if (!store) throw new DatasetError({ reason: "datastore-unknown", path: p.path, datastore: p.datastore });
    const label = `"${p.path}" on datastore ${p.datastore}`;
    const glob = splitGlob(p.path);
    if (glob) {
      if (/^[!#]/.test(glob.pattern)) throw new DatasetError({ reason: "glob-invalid", where: label });
      const base = glob.base === "" ? "." : glob.base;
      const baseLabel = `"${glob.base === "" ? "/" : glob.base}" on datastore ${p.datastore}`;
      const root = store.kind === "local" ? store.resolve(base) : await store.localCopy(base).catch((err: unknown) => {
        if (err instanceof PipebookError && err.code === "source-missing") throw new DatasetError({ reason: "glob-folder-missing", where: label, folder: baseLabel });
        throw err;
      });
      if (!(await stat(root).catch(() => undefined))?.isDirectory()) throw new DatasetError({ reason: "glob-folder-missing", where: label, folder: baseLabel });
      const matcher = ignore().add(`/${glob.pattern}`);
      const entries = (await walk(root)).filter((e) => matcher.ignores(e.rel)).sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
      if (entries.length === 0) throw new DatasetError({ reason: "glob-matches-nothing", where: label });
      const prefix = glob.base === "" ? "" : `${glob.base}/`;
      for (const e of entries) out.push({ rel: e.rel, abs: e.abs, label: `"${prefix}${e.rel}" on datastore ${p.datastore}` });
      continue;
    }
    // A blob datastore's path is read from a local copy, downloaded once per content (by Content-MD5).
    const abs = store.kind === "local" ? store.resolve(p.path) : await store.localCopy(p.path).catch((err: unknown) => {
      if (err instanceof PipebookError && err.code === "source-missing") throw new DatasetError({ reason: "path-missing", where: label });
      throw err;
    });
    const st = await stat(abs).catch(() => undefined);
    if (!st) throw new DatasetError({ reason: "path-missing", where: label });
    if (st.isDirectory()) {
      const entries = (await walk(abs)).sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
      if (entries.length === 0) throw new DatasetError({ reason: "folder-empty", where: label });
      for (const e of entries) out.push({ rel: `${basename(abs)}/${e.rel}`, abs: e.abs, label: `"${p.path}/${e.rel}" on datastore ${p.datastore}` });
    } else {
      out.push({ rel: basename(abs), abs, label });
    }
  }
  const seen = new Set<string>();
  for (const f of out) {
    if (seen.has(f.rel)) throw new DatasetError({ reason: "file-name-clash", rel: f.rel });
    seen.add(f.rel);
  }
  return out;
}

/** Hashes the files (stat-cached) and digests them with the definition's reading options. */
export async function hashDataset(ws: Workspace, def: DatasetDefinition, files: readonly DatasetFile[]): Promise<DatasetContent> {
  const entries: Entry[] = await Promise.all(files.map(async (f) => ({ abs: f.abs, rel: f.rel, st: await stat(f.abs, { bigint: true }) })));
  const tree = await hashEntries(entries, "dir", { cache: ws.statCache, pool: ws.hashPool });
  // Reading order matters for tabular data: keep the definition's order, not the tree's.
  const ordered = files.map((f) => [f.rel, tree.files.get(f.rel)!] as const);
  return { files: ordered, bytes: tree.bytes, digest: contentDigest(def, ordered) };
}

function contentDigest(def: DatasetDefinition, files: DatasetContent["files"]): Digest {
  return digestOfJson({ kind: def.kind, files, format: def.format ?? null, transforms: def.transforms });
}

/** Copies the files into the blob store and stores their manifest; returns the manifest's digest. */
export async function snapshotDataset(ws: Workspace, files: readonly DatasetFile[], content: DatasetContent): Promise<Digest> {
  await Promise.all(files.map((f, i) => ws.blobs.putFile(f.abs, content.files[i]![1])));
  return ws.blobs.putBytes(JSON.stringify({ files: content.files }));
}

/** The files of a registered version, read from its snapshot. */
export async function versionFiles(ws: Workspace, v: DatasetVersion): Promise<DatasetFile[]> {
  const manifest = JSON.parse(await ws.blobs.readText(asDigest(v.manifest))) as { files: [string, string][] };
  return manifest.files.map(([rel, d]) => ({ rel, abs: ws.blobs.pathOf(asDigest(d)), label: `"${rel}" of dataset ${v.name} version ${v.version}` }));
}

/**
 * Lays a dataset out where a step reads it, once per content: `<workspace>/datasets/<digest>/`.
 * File datasets keep their files (a single file or folder is given as itself); tabular ones
 * become one `data.csv` with the transforms applied. Built under a temporary name and renamed, so
 * a folder that exists is complete. Sealed (no write permission on any file or folder) before it
 * is renamed into place: steps read it in place, and a step must not change what later ones read.
 */
export async function materializeDataset(ws: Workspace, def: DatasetDefinition, files: readonly DatasetFile[], digest: Digest): Promise<string> {
  const dir = join(ws.dir, "datasets", digest);
  // One file or one folder: the step gets it itself; several paths: the folder holding them.
  const path = def.kind === "tabular" ? join(dir, "data.csv") : def.paths.length === 1 ? join(dir, files[0]!.rel.split("/")[0]!) : dir;
  const existing = await stat(dir).catch(() => undefined);
  if (existing) {
    // Laid out before layouts were sealed: seal it now.
    if (await isWritable(dir)) await sealTree(dir);
    return path;
  }
  const tmp = `${dir}.${randomUUID()}.tmp`;
  try {
    await mkdir(tmp, { recursive: true });
    if (def.kind === "tabular") {
      await writeTable(files.map((f): TableFile => ({ path: f.abs, label: f.label })), def, join(tmp, "data.csv"));
    } else {
      for (const f of files) {
        await mkdir(join(tmp, f.rel, ".."), { recursive: true });
        await copyFile(f.abs, join(tmp, f.rel), constants.COPYFILE_FICLONE);
      }
    }
    // Shared by every step that reads this content: none may write into it.
    await sealTree(tmp);
    await rename(tmp, dir).catch(async (err: NodeJS.ErrnoException) => {
      // Another process laid out the same content first: theirs is as good.
      if (err.code !== "ENOTEMPTY" && err.code !== "EEXIST") throw err;
      await removeLayout(tmp);
    });
  } catch (err) {
    await removeLayout(tmp);
    throw err;
  }
  return path;
}

/** Removes a (sealed) layout: its folders get write permission back first, or nothing inside could be unlinked. */
export async function removeLayout(path: string): Promise<void> {
  await unsealTree(path).catch(() => undefined);
  await rm(path, { recursive: true, force: true });
}

async function writeTable(files: readonly TableFile[], def: DatasetDefinition, dest: string): Promise<void> {
  const format = def.format ?? { separator: ",", header: true };
  let columns: readonly string[] = [];
  async function* records(): AsyncGenerator<string[]> {
    for await (const item of readTable(files, format, def.transforms)) {
      if ("columns" in item) {
        columns = item.columns;
        yield [...columns];
      } else {
        yield columns.map((c) => item.row[c] ?? "");
      }
    }
  }
  // Loaded when a table is written, not with the engine.
  const { stringify } = await import("csv-stringify");
  await pipeline(Readable.from(records()), stringify(), createWriteStream(dest));
}
