import { constants } from "node:fs";
import { copyFile, readdir, realpath, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { fetchMissing, outputFileDest, selectOutputs, type DownloadOutputsOptions, type DownloadReport, type OutputFileEntry } from "../artifacts/outputDownload.js";
import { ArtifactError } from "../artifacts/ArtifactFailure.js";
import { hashFile } from "../fingerprint/hashFile.js";
import type { RunStore } from "../store/RunStore.js";

/**
 * Copies a run's recorded outputs out of a local workspace to `dest/<step>/<output>/…`; a file
 * already there with the same content is left alone. (A remote run's go through the server's
 * blob routes: RemoteRun.downloadOutputs.)
 */
export async function downloadRunOutputs(ws: { readonly runs: RunStore }, runId: string, dest: string, options: DownloadOutputsOptions = {}): Promise<DownloadReport> {
  const rows = ws.runs.getSteps(runId);
  const steps = rows.map((s) => ({ name: s.name, status: s.status, outputs: ws.runs.getOutputs(s.id) }));
  const pairs = selectOutputs(runId, steps.map((s) => ({ ...s, outputs: s.outputs.map((o) => o.name) })), options);
  const outputs: { step: string; output: string; files: number }[] = [];
  let fetched = 0;
  let bytes = 0;
  for (const { step, output } of pairs) {
    const root = steps.find((s) => s.name === step)!.outputs.find((o) => o.name === output)!.path;
    const files = await listOutputFiles(root).catch((err: unknown) => {
      throw new ArtifactError({ reason: "output-gone", runId, step, output, root, message: err instanceof Error ? err.message : String(err) });
    });
    const moved = await fetchMissing(files, (p) => outputFileDest(dest, step, output, p), async (f, to) => {
      await copyFile(sourceOf(root, f.path), to, constants.COPYFILE_FICLONE);
      return f.size;
    });
    outputs.push({ step, output, files: files.length });
    fetched += moved.fetched;
    bytes += moved.bytes;
  }
  return { dest, outputs, files: outputs.reduce((n, o) => n + o.files, 0), fetched, bytes };
}

const sourceOf = (root: string, path: string): string => (path === "" ? root : join(root, ...path.split("/")));

/** The files of an output folder (or the one file of a one-file output), digests computed on demand. */
export async function listOutputFiles(root: string): Promise<OutputFileEntry[]> {
  const real = await realpath(root);
  const top = await stat(real);
  if (top.isFile()) return [{ path: "", size: top.size, digest: () => hashFile(real) }];
  const out: OutputFileEntry[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const abs = join(dir, e.name);
      if (e.isDirectory()) await walk(abs);
      else if (e.isFile()) out.push({ path: relative(real, abs).split(sep).join("/"), size: (await stat(abs)).size, digest: () => hashFile(abs) });
    }
  };
  await walk(real);
  return out;
}
