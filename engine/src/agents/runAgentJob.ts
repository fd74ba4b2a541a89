import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import type { BlobStore } from "../artifacts/BlobStore.js";
import type { BlobClient } from "../blobs/BlobClient.js";
import type { JobIO, LaunchOutcome, RunningHandle } from "../compute/Compute.js";
import type { LocalCompute } from "../compute/LocalCompute.js";
import type { JobReport, ServerMessage, TreeFile, TreeListing, TransferReport } from "../compute/remote/agentProtocol.js";
import { formatBytes, safeRelativePath } from "../compute/remote/treePaths.js";
import type { StepJob } from "../compute/StepJob.js";
import { asDigest, type Digest } from "../fingerprint/digest.js";
import { hashFile } from "../fingerprint/hashFile.js";
import type { MetricRow } from "../store/RunStore.js";
import { markUsed } from "./trimCache.js";

export interface AgentJobDeps {
  readonly agentName: string;
  /** The agent's blob cache: what it holds is never fetched again. */
  readonly cache: BlobStore;
  readonly transfer: BlobClient;
  /** Each job's folder (code, logs) is made under it and removed when the job has reported. */
  readonly workRoot: string;
  /**
   * Each job's data (inputs, outputs) is made under it and removed with it: the local launcher
   * shows steps this folder read-only (as root), with their outputs through a writable view, as
   * it does a workspace's data folder, so a step cannot write into its inputs or the cache.
   */
  readonly dataRoot: string;
  readonly compute: LocalCompute;
  readonly machineGpus: number;
  readonly send: (m: JobReport) => void;
}

type Ended = Extract<JobReport, { type: "ended" }>;
const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** A transfer longer than this says how far it got in the step's log. */
const PROGRESS_EVERY_MS = 2000;

/**
 * One job on an agent: fetch the blobs the cache lacks, lay out code and inputs in the job's own
 * folder, run it through the same local launcher as the engine's local target (on the GPUs the
 * server granted), upload the outputs the server lacks, and report. Every name and path the
 * server sent is checked first: nothing is written outside the cache and the job's folder.
 */
export async function runAgentJob(m: Extract<ServerMessage, { type: "job" }>, deps: AgentJobDeps, signal: AbortSignal): Promise<Ended> {
  const { job } = m;
  const id = job.stepRunId;
  const transfer: { -readonly [K in keyof TransferReport]: number } = { inputBytesMoved: 0, inputBytesCached: 0, outputBytesMoved: 0, outputBytesPresent: 0 };
  const ended = (outcome: LaunchOutcome, outputs: Record<string, TreeListing> = {}): Ended => ({ type: "ended", id, outcome, outputs, transfer });
  const problem = checkJob(m);
  if (problem) return ended({ reason: "spawn-failed", message: `the agent refused the job: ${problem}` });
  const note = (text: string): void => deps.send({ type: "note", id, text });
  const stepDir = join(deps.workRoot, id);
  const dataDir = join(deps.dataRoot, id);
  for (const d of [stepDir, dataDir]) {
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { recursive: true });
  }
  try {
    const fetched = await fetchMissing(m, deps, note, signal);
    transfer.inputBytesMoved = fetched.moved;
    transfer.inputBytesCached = fetched.cached;
    if (signal.aborted) return ended({ reason: "canceled" });
    const inputs = job.inputs.map((input) => ({ ...input, source: layOut(m.inputs[input.name]!, join(dataDir, "inputs", input.name), deps.cache) }));
    // On the agent the step runs under its own id: a server on the same machine recovering its
    // runs stops the processes and cgroups of its own step ids, never those of an agent's job.
    const localId = `agent-${deps.agentName}.${id}`;
    const local: StepJob = { ...job, stepRunId: localId, inputs, env: { ...job.env, PIPEBOOK_STEP_RUN_ID: localId } };
    const outputs = new Map(job.outputs.map((name) => [name, join(dataDir, "outputs", name)]));
    for (const dir of outputs.values()) mkdirSync(dir, { recursive: true });
    const io = new AgentJobIO(id, stepDir, outputs, m.snapshot, deps);
    const outcome = await deps.compute.execute(local, io, signal, { gpus: m.gpus, machineGpus: deps.machineGpus });
    if (outcome.reason !== "exited") return ended(outcome);
    const listings: Record<string, TreeListing> = {};
    for (const [name, path] of outputs) listings[name] = await listTree(path);
    const all = Object.values(listings).flatMap((l) => l.files);
    const missing = new Set(await deps.transfer.missing(all.map(([, d]) => asDigest(d))));
    const sent = new Set<string>();
    for (const [name, path] of outputs) {
      for (const [rel, digest, size] of listings[name]!.files) {
        // The next step here reading this output finds it in the cache: it never comes back over the wire.
        keepInCache(deps.cache, asDigest(digest), rel === "" ? path : join(path, rel));
        if (!missing.has(asDigest(digest)) || sent.has(digest)) {
          transfer.outputBytesPresent += size;
          continue;
        }
        sent.add(digest);
        const before = transfer.outputBytesMoved;
        let lastSaid = Date.now();
        const r = await deps.transfer.upload(asDigest(digest), rel === "" ? path : join(path, rel), {
          onProgress: (p) => {
            if (Date.now() - lastSaid < PROGRESS_EVERY_MS) return;
            lastSaid = Date.now();
            note(`uploading output ${name}: ${formatBytes(before + p.done)} sent`);
          },
        });
        transfer.outputBytesMoved += r.bytes;
      }
    }
    return ended(outcome, listings);
  } catch (err) {
    return ended({ reason: "lost", message: `the agent could not move the step's data: ${err instanceof Error ? err.message : String(err)}` });
  } finally {
    rmSync(stepDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function checkJob(m: Extract<ServerMessage, { type: "job" }>): string | undefined {
  const { job } = m;
  if (!NAME.test(job.stepRunId) || job.stepRunId.length > 200) return `"${job.stepRunId.slice(0, 80)}" is not a step run id`;
  for (const name of [...job.outputs, ...job.inputs.map((i) => i.name)]) if (!NAME.test(name)) return `"${name.slice(0, 80)}" is not a data name`;
  const trees: TreeFile[][] = [m.snapshot.map((f) => f), ...Object.values(m.inputs).map((l) => [...l.files])];
  for (const input of job.inputs) {
    const l = m.inputs[input.name];
    if (!l) return `input ${input.name} has no listing`;
    if (l.kind === "file" && (l.files.length !== 1 || !safeRelativePath(l.name))) return `input ${input.name} is not one file`;
    if (l.kind === "dir" && l.files.some(([rel]) => !safeRelativePath(rel))) return `input ${input.name} names a path outside its folder`;
  }
  if (m.snapshot.some(([rel]) => !safeRelativePath(rel))) return "the snapshot names a path outside the step's folder";
  for (const files of trees) for (const [, d] of files) if (!/^[0-9a-f]{64}$/.test(d)) return `"${d.slice(0, 80)}" is not a digest`;
  return undefined;
}

/** Downloads the blobs of code and inputs the cache lacks; bytes moved and bytes found in the cache. */
async function fetchMissing(m: Extract<ServerMessage, { type: "job" }>, deps: AgentJobDeps, note: (t: string) => void, signal: AbortSignal): Promise<{ moved: number; cached: number }> {
  const sizes = new Map<Digest, number>();
  for (const [, d, size] of [...m.snapshot, ...Object.values(m.inputs).flatMap((l) => l.files)]) sizes.set(asDigest(d), size);
  const need: Digest[] = [];
  let cached = 0;
  for (const [d, size] of sizes) {
    if (await deps.cache.has(d)) {
      cached += size;
      markUsed(deps.cache, d);
    } else need.push(d);
  }
  const total = need.reduce((n, d) => n + sizes.get(d)!, 0);
  let moved = 0;
  let lastSaid = Date.now();
  if (need.length > 0) note(`fetching ${need.length} blob${need.length > 1 ? "s" : ""} (${formatBytes(total)}); ${formatBytes(cached)} already in the agent's cache`);
  for (const d of need) {
    if (signal.aborted) break;
    const dest = deps.cache.pathOf(d);
    mkdirSync(dirname(dest), { recursive: true });
    let before = moved;
    const r = await deps.transfer.download(d, dest, {
      onProgress: (p) => {
        if (Date.now() - lastSaid < PROGRESS_EVERY_MS) return;
        lastSaid = Date.now();
        note(`fetching inputs: ${formatBytes(before + p.done)} of ${formatBytes(total)}`);
      },
    });
    // Cached blobs are never written again: a step reads them through hard links.
    chmodSync(dest, 0o444);
    moved += r.bytes;
    before = moved;
  }
  return { moved, cached };
}

/** An input laid out from the cache: hard links (no copies); the path the step is given. */
function layOut(listing: TreeListing, dir: string, cache: BlobStore): string {
  mkdirSync(dir, { recursive: true });
  if (listing.kind === "file") {
    const path = join(dir, listing.name);
    linkOrCopy(cache.pathOf(asDigest(listing.files[0]![1])), path);
    return path;
  }
  for (const [rel, d] of listing.files) {
    const to = join(dir, rel);
    mkdirSync(dirname(to), { recursive: true });
    linkOrCopy(cache.pathOf(asDigest(d)), to);
  }
  return dir;
}

/** Puts a file the agent has (an output it made) into its cache under its digest, as a link where it can. */
function keepInCache(cache: BlobStore, digest: Digest, file: string): void {
  const dest = cache.pathOf(digest);
  if (existsSync(dest)) return markUsed(cache, digest);
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.tmp`;
  try {
    linkOrCopy(file, tmp);
    chmodSync(tmp, 0o444);
    renameSync(tmp, dest);
  } catch {
    rmSync(tmp, { force: true });
  }
}

function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

/** A file or folder the step left, as blobs. */
async function listTree(path: string): Promise<TreeListing> {
  const st = statSync(path);
  if (!st.isDirectory()) return { kind: "file", name: path.split(sep).pop()!, files: [["", await hashFile(path), st.size]] };
  const files: TreeFile[] = [];
  const visit = async (dir: string): Promise<void> => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const abs = join(dir, e.name);
      if (e.isDirectory()) await visit(abs);
      else {
        const s = statSync(abs, { throwIfNoEntry: false });
        if (s?.isFile()) files.push([relative(path, abs).split(sep).join("/"), await hashFile(abs), s.size]);
      }
    }
  };
  await visit(path);
  return { kind: "dir", name: path.split(sep).pop()!, files };
}

/** The agent's side of a job's JobIO: its folders, and what the step reports relayed to the server. */
class AgentJobIO implements JobIO {
  constructor(
    private readonly id: string,
    readonly stepDir: string,
    private readonly outputs: ReadonlyMap<string, string>,
    private readonly snapshot: readonly TreeFile[],
    private readonly deps: AgentJobDeps,
  ) {}

  outputDir(name: string): string {
    const dir = this.outputs.get(name);
    if (!dir) throw new Error(`bug: the job has no output ${name}`);
    return dir;
  }

  async materializeSnapshot(dest: string): Promise<void> {
    // The step's own copy of its code: it may write next to it, never into the cache.
    for (const [rel, d] of this.snapshot) {
      mkdirSync(dirname(join(dest, rel)), { recursive: true });
      copyFileSync(this.deps.cache.pathOf(asDigest(d)), join(dest, rel));
      chmodSync(join(dest, rel), 0o644);
    }
  }

  async sharedSnapshot(): Promise<string | undefined> {
    return undefined;
  }

  started(handle: RunningHandle): void {
    if (handle.kind === "process") this.deps.send({ type: "started", id: this.id, pid: handle.pid });
  }

  output(stream: "stdout" | "stderr", chunk: Buffer): void {
    this.deps.send({ type: "output", id: this.id, stream, text: chunk.toString("utf8") });
  }

  metrics(rows: readonly MetricRow[]): void {
    this.deps.send({ type: "metrics", id: this.id, rows });
  }

  note(text: string): void {
    this.deps.send({ type: "note", id: this.id, text });
  }
}
