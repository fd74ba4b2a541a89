import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import type { JobIO, RunningHandle } from "../compute/Compute.js";
import { summarizeDecision } from "../explain/formatDecision.js";
import { asDigest, type Digest } from "../fingerprint/digest.js";
import type { MetricRow, StepUpdate } from "../store/RunStore.js";
import type { PreparedStep } from "./prepareStep.js";
import { processStart } from "../compute/processIdentity.js";
import type { RunContext } from "./runStep.js";
import type { Workspace } from "../workspace/Workspace.js";
import { StepLogs } from "./StepLogs.js";

/** Snapshots of at most this many files are copied synchronously (see materializeSnapshot). */
const SYNC_COPY_FILES = 32;
/** Parsed snapshot manifests by digest (content-addressed: they never change). */
const manifests = new Map<string, Record<string, string>>();

/**
 * The engine's side of one job: where its outputs go, its snapshot, and the sink for what the
 * target reports (start, output, metrics), each recorded and announced.
 */
export class StepJobIO implements JobIO {
  private readonly logs: StepLogs;
  /** When the process (or container) started: time spent waiting for a GPU is not the step's duration. */
  startedAt: string | undefined;

  constructor(
    private readonly ctx: RunContext,
    private readonly p: PreparedStep,
    readonly stepDir: string,
    private readonly outputDirs: ReadonlyMap<string, string>,
    /** The step's key and decision, recorded with its start (made then, where nothing needed the key before: runStep). */
    private readonly decided: () => StepUpdate,
    /** Called once the step's process started (the engine is idle while it boots): work done ahead for the next step. */
    private readonly afterStart?: () => void,
    /** A folder that already holds this step's code, laid out ahead (runStep.ts makeAhead). */
    private readonly codeAhead?: string,
  ) {
    this.logs = new StepLogs(stepDir);
  }

  outputDir(name: string): string {
    const dir = this.outputDirs.get(name);
    if (!dir) throw new Error(`bug: step ${this.p.step.name} has no output ${name}`);
    return dir;
  }

  async materializeSnapshot(dest: string): Promise<void> {
    if (!this.p.manifest || dest === this.codeAhead) return;
    // A step's code is a few files: copied synchronously, since each asynchronous mkdir or
    // copy is a thread-pool round trip the step waits for, most of a short step's overhead. A
    // large source folder is copied in parallel on the pool, as the event loop must not stall.
    if (copySnapshotSync(this.ctx.ws, this.p, dest)) return;
    const files = snapshotFiles(this.ctx.ws, this.p.manifest);
    await Promise.all([...folders(files, dest)].map((d) => mkdir(d, { recursive: true })));
    await Promise.all(Object.entries(files).map(([rel, d]) => this.ctx.ws.blobs.copyOut(asDigest(d), join(dest, rel))));
  }

  /**
   * `<store>/snapshots/<manifest>`: hard links to the blobs, laid out once per snapshot and
   * renamed into place complete. Only ever bound read-only (a write through a hard link would
   * change the stored blob).
   */
  async sharedSnapshot(): Promise<string | undefined> {
    const manifest = this.p.manifest;
    if (!manifest) return undefined;
    const dir = join(this.ctx.ws.dir, "snapshots", manifest);
    if (existsSync(dir)) return dir;
    const tmp = `${dir}.${randomBytes(4).toString("hex")}.tmp`;
    const files = snapshotFiles(this.ctx.ws, manifest);
    for (const [rel, d] of Object.entries(files)) {
      mkdirSync(dirname(join(tmp, rel)), { recursive: true });
      linkSync(this.ctx.ws.blobs.pathOf(asDigest(d)), join(tmp, rel));
    }
    mkdirSync(tmp, { recursive: true });
    try {
      renameSync(tmp, dir);
    } catch {
      // Another step laid out the same snapshot first: theirs is identical.
      rmSync(tmp, { recursive: true, force: true });
    }
    return dir;
  }

  started(handle: RunningHandle): void {
    const { ctx } = this;
    this.startedAt = new Date().toISOString();
    const pid = handle.kind === "process" ? { pid: handle.pid, pidStart: processStart(handle.pid) } : {};
    const decided = this.decided();
    ctx.recorder.strictly({ type: "step", step: this.p.step.name, update: { ...decided, status: "running", ...pid, startedAt: this.startedAt } });
    const decision = decided.decision;
    ctx.emit({ type: "step-status", runId: ctx.runId, step: this.p.step.name, status: "running", ...(decision && { detail: summarizeDecision(decision) }) });
    this.afterStart?.();
  }

  output(stream: "stdout" | "stderr", chunk: Buffer): void {
    this.logs.write(stream, chunk);
    const text = chunk.toString("utf8");
    this.ctx.recorder.observeOnly({ type: "log", step: this.p.step.name, text });
    this.ctx.emit({ type: "step-log", runId: this.ctx.runId, step: this.p.step.name, stream, text });
  }

  metrics(rows: readonly MetricRow[]): void {
    const { ctx } = this;
    ctx.recorder.record({ type: "metrics", step: this.p.step.name, rows });
    for (const m of rows) ctx.emit({ type: "step-metric", runId: ctx.runId, step: this.p.step.name, name: m.name, value: m.value });
  }

  note(text: string): void {
    this.output("stderr", Buffer.from(`[pipebook] ${text}\n`));
  }

  /**
   * The last line the step wrote to stderr; where it is a write refused in one of its inputs
   * (EROFS, or EACCES on an earlier step's output), with why, since the step only sees the errno.
   */
  lastErrorLine(): string | undefined {
    const line = this.logs.lastErrorLine();
    if (line === undefined) return undefined;
    const readOnly = /Read-only file system|EROFS/.test(line);
    const denied = /Permission denied|EACCES/.test(line) && (line.includes(this.ctx.ws.dataDir) || line.includes("/pipebook/inputs/"));
    return readOnly || denied ? `${line} (a step's inputs are read-only to it: write into one of its outputs, or copy the input first)` : line;
  }

  close(): void {
    this.logs.close();
  }
}

/**
 * Copies a step's code into `dest` synchronously where it is a few files (at most
 * SYNC_COPY_FILES); false, having copied nothing, where it is more (or it has none).
 */
export function copySnapshotSync(ws: Workspace, p: PreparedStep, dest: string): boolean {
  if (!p.manifest) return false;
  const files = snapshotFiles(ws, p.manifest);
  const entries = Object.entries(files);
  if (entries.length > SYNC_COPY_FILES) return false;
  for (const d of folders(files, dest)) mkdirSync(d, { recursive: true });
  for (const [rel, d] of entries) ws.blobs.copyOutSync(asDigest(d), join(dest, rel));
  return true;
}

/** The folders a snapshot's files go into under `dest`. */
function folders(files: Readonly<Record<string, string>>, dest: string): Set<string> {
  return new Set(Object.keys(files).map((rel) => dirname(join(dest, rel))));
}

/** A snapshot's files by path; manifests are content-addressed, so each is read once per process. */
function snapshotFiles(ws: Workspace, manifest: Digest): Record<string, string> {
  let files = manifests.get(manifest);
  if (!files) {
    files = JSON.parse(readFileSync(ws.blobs.pathOf(manifest), "utf8")) as Record<string, string>;
    if (manifests.size >= 256) manifests.clear();
    manifests.set(manifest, files);
  }
  return files;
}
