import { readdir, readFile, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { removeLayout } from "../datasets/datasetFiles.js";
import type { Workspace } from "../workspace/Workspace.js";
import type { Digest } from "../fingerprint/digest.js";
import { PublishStore } from "../store/PublishStore.js";
import { addDigestsIn } from "../store/namedDigests.js";

/**
 * How long a cut-off blob upload waits for its client to resume it, and how long a blob no record
 * names is kept: a client uploads a run's code before it submits the run that names it.
 */
const PARTIAL_UPLOAD_KEPT_MS = 86_400_000;
/** A named blob this small is read for the digests it names in turn: snapshot and dataset manifests. */
const MANIFEST_MAX_BYTES = 16 * 2 ** 20;

export interface GcOptions {
  readonly dryRun: boolean;
  /** Also drop outputs of runs older than this many days, unless a kept run still uses them. */
  readonly olderThanDays?: number;
}

export interface GcItem {
  readonly path: string;
  readonly bytes: number;
  readonly why: string;
}

/**
 * Intermediate data is never deleted automatically (the seeds); this is the explicit cleanup.
 * It removes output folders no step run records (left by failed or killed steps), working
 * copies of finished runs (their code stays in the snapshot blobs), and with `olderThanDays`
 * the outputs only old runs point at, and dataset layouts when no run is active. A removed output that a later step would reuse is
 * detected by reuse verification, which then reruns the step: removing never corrupts.
 * Blobs no record names (directly or through a manifest a record names) and older than a day go
 * too when no run is active: copies of agents' outputs and inputs, code uploaded for a submit
 * that never came, snapshots of runs since deleted.
 */
export async function collectGarbage(ws: Workspace, options: GcOptions): Promise<GcItem[]> {
  ws.requireLocal("collecting garbage");
  const items: GcItem[] = [];
  const referenced = ws.runs.allOutputPaths();
  const active = new Set(ws.runs.listActiveRuns().map((r) => r.id));
  const keptPaths = new Set<string>();
  const oldPaths = new Set<string>();
  if (options.olderThanDays !== undefined) {
    const cutoff = Date.now() - options.olderThanDays * 86_400_000;
    // Kept whatever their age: runs a published pipeline was made from, and step outputs a dataset version was registered from.
    const published = new Set(PublishStore.of(ws).listPipelines(true).map((p) => p.sourceRunId));
    const registered = ws.datasets.lineageStepRuns();
    for (const run of ws.runs.listRuns({ limit: 1_000_000 })) {
      const old = Date.parse(run.createdAt) < cutoff && !active.has(run.id) && !published.has(run.id);
      for (const s of ws.runs.getSteps(run.id)) for (const o of ws.runs.getOutputs(s.id)) (old && !registered.has(s.id) ? oldPaths : keptPaths).add(o.path);
    }
  }
  for (const stepRunDir of await list(ws.dataDir)) {
    const runId = stepRunDir.slice(0, stepRunDir.lastIndexOf("."));
    if (active.has(runId)) continue;
    for (const name of await list(join(ws.dataDir, stepRunDir))) {
      const path = join(ws.dataDir, stepRunDir, name);
      if (!referenced.has(path)) items.push({ path, bytes: await size(path), why: "output of a step run that did not complete" });
      else if (oldPaths.has(path) && !keptPaths.has(path)) items.push({ path, bytes: await size(path), why: `only runs older than ${options.olderThanDays} days use it` });
    }
  }
  for (const runId of await list(ws.runsDir)) {
    if (active.has(runId)) continue;
    for (const step of await list(join(ws.runsDir, runId))) {
      const work = join(ws.runsDir, runId, step, "work");
      if (await stat(work).then(() => true, () => false)) items.push({ path: work, bytes: await size(work), why: "working copy of a finished step (code kept in the snapshot)" });
    }
  }
  // Dataset layouts are caches: each is rebuilt from its snapshot or datastore when a step needs it.
  // While a run is active one of its steps may be reading one, so they are kept until none is.
  if (active.size === 0) {
    const layouts = join(ws.dir, "datasets");
    for (const name of await list(layouts)) {
      const path = join(layouts, name);
      items.push({ path, bytes: await size(path), why: name.endsWith(".tmp") ? "unfinished dataset layout" : "dataset layout (rebuilt when a step reads it)" });
    }
  }
  // Copies of blob datastore content are caches too (downloaded again, by content, when a step reads it).
  if (active.size === 0) {
    const remote = join(ws.dir, "remote");
    for (const name of await list(remote)) {
      const path = join(remote, name);
      items.push({ path, bytes: await size(path), why: name.endsWith(".tmp") ? "unfinished copy of blob datastore content" : "copy of blob datastore content (downloaded again when a step reads it)" });
    }
  }
  if (active.size === 0) items.push(...(await unnamedBlobs(ws)));
  // Uploads to a server (PUT /blobs) cut off and never resumed: kept a day for the resume, then garbage.
  const uploads = join(ws.blobs.root, "uploads");
  for (const name of await list(uploads)) {
    const path = join(uploads, name);
    const st = await stat(path).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > PARTIAL_UPLOAD_KEPT_MS) items.push({ path, bytes: st.size, why: "partial blob upload not resumed for a day" });
  }
  const layoutsDir = join(ws.dir, "datasets");
  const remoteDir = join(ws.dir, "remote");
  if (!options.dryRun) for (const item of items) await (dirname(item.path) === layoutsDir || dirname(item.path) === remoteDir ? removeLayout(item.path) : rm(item.path, { recursive: true, force: true }));
  return items;
}

/**
 * Blobs older than a day that no record of the store names, nor any manifest a record names. A
 * blob is named when its digest appears in the store's text or in a named JSON blob (a snapshot's
 * {path: digest}, a dataset's files), followed to the end.
 */
async function unnamedBlobs(ws: Workspace): Promise<GcItem[]> {
  const named = ws.runs.namedDigests();
  const pending = [...named];
  for (let d = pending.pop(); d !== undefined; d = pending.pop()) {
    const path = ws.blobs.pathOf(d as Digest);
    const st = await stat(path).catch(() => undefined);
    if (!st || st.size > MANIFEST_MAX_BYTES) continue;
    const text = await readFile(path, "utf8");
    if (!/^\s*[[{]/.test(text)) continue;
    const found = new Set<string>();
    addDigestsIn(text, found);
    for (const f of found) {
      if (named.has(f)) continue;
      named.add(f);
      pending.push(f);
    }
  }
  const items: GcItem[] = [];
  for (const { digest, path } of ws.blobs.list()) {
    if (named.has(digest)) continue;
    const st = await stat(path).catch(() => undefined);
    if (st?.isFile() && Date.now() - st.mtimeMs > PARTIAL_UPLOAD_KEPT_MS) items.push({ path, bytes: st.size, why: "blob no run, dataset, module or published pipeline names (a day old)" });
  }
  return items;
}

async function list(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

async function size(path: string): Promise<number> {
  const st = await stat(path);
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of await readdir(path)) total += await size(join(path, name));
  return total;
}
