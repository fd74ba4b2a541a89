import { constants } from "node:fs";
import { copyFile, mkdir, rename, stat } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { dirname, join, resolve, sep } from "node:path";
import { ArtifactError } from "./ArtifactFailure.js";
import type { RunStore } from "../store/RunStore.js";

/** One file of a step's snapshot: its path in the source folder, its content digest and size. */
export interface SnapshotEntry {
  readonly path: string;
  readonly digest: string;
  readonly size: number;
}

export interface StepSnapshot {
  readonly runId: string;
  readonly step: string;
  /** The manifest blob (undefined for a step without a source folder: a plain command). */
  readonly manifest: string | undefined;
  /** The module version whose code this is, for a ModuleStep. */
  readonly module?: { readonly name: string; readonly version: string };
  readonly files: readonly SnapshotEntry[];
}

/**
 * The code a step of a run ran: the snapshot recorded in the run's spec at submit, read from
 * the workspace's blobs (`blobsDir`). A reused step's snapshot is its own run's (identical by
 * its key). Unknown run or step: one sentence.
 */
export async function readStepSnapshot(runs: RunStore, blobsDir: string, runId: string, stepName: string): Promise<StepSnapshot> {
  const run = runs.getRun(runId);
  if (!run) throw new ArtifactError({ reason: "run-unknown", runId });
  const spec = run.graph.spec.steps.find((s) => s.name === stepName);
  if (!spec) throw new ArtifactError({ reason: "step-unknown", runId, step: stepName, steps: run.graph.spec.steps.map((s) => s.name) });
  const files = await Promise.all(
    Object.entries(spec.source)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(async ([path, digest]) => ({ path, digest, size: Number((await stat(blobPath(blobsDir, digest)).catch(() => undefined))?.size ?? -1) })),
  );
  const gone = files.find((f) => f.size < 0);
  if (gone) throw new ArtifactError({ reason: "snapshot-blob-gone", runId, step: stepName, path: gone.path, digest: gone.digest });
  return { runId, step: stepName, manifest: spec.manifest, ...(spec.module && { module: { name: spec.module.name, version: spec.module.version } }), files };
}

/** Where a snapshot file's content is; `path` must be one of the snapshot's files (nothing else is served). */
export function snapshotFilePath(blobsDir: string, snapshot: StepSnapshot, path: string): string {
  const entry = snapshot.files.find((f) => f.path === path);
  if (!entry) throw new ArtifactError({ reason: "snapshot-file-unknown", runId: snapshot.runId, step: snapshot.step, path });
  return blobPath(blobsDir, entry.digest);
}

/**
 * Writes the snapshot's files under `outDir` with their relative paths. An existing file is
 * never replaced: the whole copy is refused before anything is written, naming the first one.
 */
export async function writeStepSnapshot(blobsDir: string, snapshot: StepSnapshot, outDir: string): Promise<string[]> {
  const root = resolve(outDir);
  const targets = snapshot.files.map((f) => {
    const dest = resolve(root, f.path);
    if (!dest.startsWith(root + sep)) throw new Error(`bug: snapshot path ${f.path} leaves ${root}`);
    return { f, dest };
  });
  for (const { dest } of targets) {
    if (await stat(dest).then(() => true, () => false)) {
      throw new ArtifactError({ reason: "destination-exists", path: dest });
    }
  }
  for (const { f, dest } of targets) {
    await mkdir(dirname(dest), { recursive: true });
    const tmp = `${dest}.${randomUUID()}.tmp`;
    await copyFile(blobPath(blobsDir, f.digest), tmp, constants.COPYFILE_FICLONE);
    await rename(tmp, dest);
  }
  return targets.map((t) => t.dest);
}

function blobPath(blobsDir: string, digest: string): string {
  return join(blobsDir, "sha256", digest.slice(0, 2), digest);
}
