import { mkdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ArtifactError } from "./ArtifactFailure.js";
import { hashFile } from "../fingerprint/hashFile.js";

/** Which outputs of a run to download (every output of every step when neither is given). */
export interface DownloadOutputsOptions {
  /** Only this step's outputs. */
  readonly step?: string;
  /** Only outputs of this name (of the step, or of every step that has one). */
  readonly output?: string;
  /** Bytes of a file being fetched, as they arrive (remote runs; called for each file). */
  readonly onProgress?: (p: { readonly step: string; readonly output: string; readonly path: string; readonly done: number; readonly total: number }) => void;
}

/** What a download did: files named by the outputs, how many were fetched and their bytes. */
export interface DownloadReport {
  /** Where the files are: `<dest>/<step>/<output>/<path>` (a one-file output is `<dest>/<step>/<output>`). */
  readonly dest: string;
  readonly outputs: readonly { readonly step: string; readonly output: string; readonly files: number }[];
  readonly files: number;
  /** Files copied or transferred: those not already at the destination with the same content. */
  readonly fetched: number;
  readonly bytes: number;
}

/** One file of an output: its path inside the output ("" for a one-file output), size and SHA-256. */
export interface OutputFileEntry {
  readonly path: string;
  readonly size: number;
  /** Known (a server's listing) or computed when needed (a local output). */
  readonly digest: string | (() => Promise<string>);
}

/** Where a file of a step's output lands below `dest`. */
export function outputFileDest(dest: string, step: string, output: string, path: string): string {
  return path === "" ? join(dest, step, output) : join(dest, step, output, ...path.split("/"));
}

/**
 * Fetches the files that are not already at their destination with the same content (same size
 * and SHA-256): a second download of the same outputs moves nothing. `fetch` writes one file
 * (a copy, or a transfer checked by digest) and returns the bytes it moved.
 */
export async function fetchMissing(
  files: readonly OutputFileEntry[],
  destOf: (path: string) => string,
  fetch: (file: OutputFileEntry, dest: string) => Promise<number>,
): Promise<{ fetched: number; bytes: number }> {
  let fetched = 0;
  let bytes = 0;
  for (const f of files) {
    const dest = destOf(f.path);
    const there = await stat(dest).catch(() => undefined);
    if (there?.isFile() && there.size === f.size) {
      const want = typeof f.digest === "string" ? f.digest : await f.digest();
      if ((await hashFile(dest)) === want) continue;
    }
    await mkdir(dirname(dest), { recursive: true });
    bytes += await fetch(f, dest);
    fetched++;
  }
  return { fetched, bytes };
}

/**
 * The (step, output) pairs a download names, or a sentence: an unknown step, a step that recorded
 * no outputs (yet), an output name no chosen step has.
 */
export function selectOutputs(
  runId: string,
  steps: readonly { readonly name: string; readonly status: string; readonly outputs: readonly string[] }[],
  options: Pick<DownloadOutputsOptions, "step" | "output">,
): { step: string; output: string }[] {
  let chosen = steps;
  if (options.step !== undefined) {
    chosen = steps.filter((s) => s.name === options.step);
    if (chosen.length === 0) throw new ArtifactError({ reason: "step-unknown", runId, step: options.step, steps: steps.map((s) => s.name) });
    if (chosen[0]!.outputs.length === 0) throw new ArtifactError({ reason: "step-without-outputs", runId, step: options.step, status: chosen[0]!.status });
  }
  const pairs = chosen.flatMap((s) => s.outputs.filter((o) => options.output === undefined || o === options.output).map((o) => ({ step: s.name, output: o })));
  if (pairs.length > 0) return pairs;
  if (options.output !== undefined) {
    const names = [...new Set(chosen.flatMap((s) => s.outputs))];
    throw new ArtifactError({ reason: "output-unknown", runId, step: options.step, output: options.output, outputs: names });
  }
  throw new ArtifactError({ reason: "outputs-not-yet", runId, steps: steps.map((s) => ({ name: s.name, status: s.status })) });
}
