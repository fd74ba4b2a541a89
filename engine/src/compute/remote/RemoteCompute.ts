import { mkdirSync, rmSync, rmdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { BlobStore } from "../../artifacts/BlobStore.js";
import type { RemoteTargetConfig } from "../../dsl/workspaceConfigSchema.js";
import { unreachable } from "../../errors/PipebookError.js";
import { asDigest } from "../../fingerprint/digest.js";
import { hashTree, type TreeHasherDeps } from "../../fingerprint/hashTree.js";
import type { Capacity, Compute, JobIO, LaunchOutcome, StepRequirements } from "../Compute.js";
import { ComputeError } from "../ComputeFailure.js";
import { describeSlotWait } from "../SlotQueue.js";
import type { ResolvedEnvironment, StepJob } from "../StepJob.js";
import type { TreeFile, TreeListing, TransferReport } from "./agentProtocol.js";
import { AgentPool } from "./AgentPool.js";
import { formatBytes, safeRelativePath } from "./treePaths.js";
import { targetKeyFields } from "../targetKeyFields.js";

export interface RemoteComputeContext {
  /** Finds the server's agent pool, registered under this folder. */
  readonly workspaceDir: string;
  readonly blobs: BlobStore;
  readonly hasher: TreeHasherDeps;
}

/**
 * A pool of `pipebook agent`s: each step is queued for slots (GPUs) of one agent whose labels
 * match, its code and inputs are offered as blobs (the agent fetches those it lacks), and its
 * outputs come back as blobs the server verified by digest, laid out where the engine collects
 * them. Agents dial into `pipebook serve`; elsewhere the target refuses steps at submit.
 */
export class RemoteCompute implements Compute {
  readonly kind = "remote";

  constructor(
    readonly name: string,
    private readonly config: RemoteTargetConfig,
    private readonly context: RemoteComputeContext,
  ) {}

  keyFields(): Record<string, unknown> {
    return targetKeyFields(this.config);
  }

  async capacity(): Promise<Capacity> {
    // The pool queues steps itself (fair FIFO per pool): the run hands each over when ready.
    return { gpus: Number.MAX_SAFE_INTEGER, cpus: Number.MAX_SAFE_INTEGER, memoryMb: Number.MAX_SAFE_INTEGER, queues: true };
  }

  async prepare(req: StepRequirements): Promise<ResolvedEnvironment> {
    const pool = AgentPool.of(this.context.workspaceDir);
    if (!pool) {
      throw new ComputeError({ reason: "agents-unserved", target: this.name });
    }
    const matching = pool.list().filter((a) => a.status !== "offline" && Object.entries(this.config.labels).every(([k, v]) => a.labels[k] === v));
    const most = Math.max(0, ...matching.map((a) => a.inventory.gpus.length));
    if (matching.length > 0 && req.resources.gpus > most) {
      throw new ComputeError({
        reason: "agents-too-small", step: req.stepName, target: this.name, gpus: req.resources.gpus,
        agents: matching.map((a) => ({ name: a.name, gpus: a.inventory.gpus.length })),
      });
    }
    const env = req.environment;
    switch (env.kind) {
      case "system":
        return { key: { kind: "system" }, runtime: {} };
      case "node":
        // The agent's own Node runs node steps.
        return { key: { kind: "node" }, runtime: {} };
      case "python":
        if (env.pipPackages.length === 0) return { key: { kind: "python", interpreter: env.interpreter, pipPackages: [] }, runtime: { interpreter: env.interpreter } };
        throw new ComputeError({ reason: "agents-build-no-environments", step: req.stepName, target: this.name, pipPackages: env.pipPackages });
      case "docker":
        throw new ComputeError({ reason: "image-unsupported", step: req.stepName, target: this.name, image: env.image, runsOn: "agents" });
      default:
        return unreachable(env);
    }
  }

  async run(job: StepJob, io: JobIO, signal: AbortSignal): Promise<LaunchOutcome> {
    const pool = AgentPool.of(this.context.workspaceDir);
    if (!pool) return { reason: "lost", message: `the agents of compute target ${this.name} are gone (the server stopped)` };
    // Offered by content before a slot is taken: hashing (stat-cached) and storing blobs the
    // workspace lacks is the server's work, not the GPU's.
    const snapshot = job.snapshot ? await this.snapshotFiles(job.snapshot) : [];
    const inputs: Record<string, TreeListing> = {};
    for (const input of job.inputs) inputs[input.name] = await this.offer(input.source);

    const count = job.resources.gpus;
    const queue = pool.queue(this.name, this.config.labels);
    const grant = await queue.acquire(count, job.stepRunId, signal, (ahead) => io.note(describeSlotWait(count, this.name, ahead)));
    if (!grant) return { reason: "canceled" };
    try {
      io.note(`on agent ${grant.agent}${grant.gpus.length > 0 ? `, GPU ${grant.gpus.join(",")}` : ""}`);
      const end = await pool.run(grant, { type: "job", job, gpus: grant.gpus, snapshot, inputs }, {
        started: (pid) => io.started({ kind: "agent-process", agent: grant.agent, pid }),
        output: (stream, text) => io.output(stream, Buffer.from(text, "utf8")),
        metrics: (rows) => io.metrics(rows),
        note: (text) => io.note(text),
      }, signal);
      if (end.type === "lost") return { reason: "lost", message: end.message };
      io.note(describeTransfer(grant.agent, end.transfer));
      if (end.outcome.reason !== "exited") return end.outcome;
      for (const name of job.outputs) {
        const listing = end.outputs[name];
        if (!listing) return { reason: "lost", message: `agent ${grant.agent} did not send output ${name}` };
        const problem = await this.receive(listing, io.outputDir(name));
        if (problem) return { reason: "lost", message: `output ${name} from agent ${grant.agent}: ${problem}` };
      }
      return end.outcome;
    } finally {
      pool.release(grant);
    }
  }

  /** A file or folder as blobs, stored in the workspace's blob store where it lacks them. */
  private async offer(source: string): Promise<TreeListing> {
    const tree = await hashTree(source, this.context.hasher);
    const isDir = statSync(source).isDirectory();
    const files: TreeFile[] = [];
    for (const [rel, digest] of tree.files) {
      const abs = rel === "" ? source : join(source, rel);
      await this.context.blobs.putFile(abs, digest);
      files.push([rel, digest, statSync(this.context.blobs.pathOf(digest)).size]);
    }
    return { kind: isDir ? "dir" : "file", name: basename(source), files };
  }

  private async snapshotFiles(manifest: string): Promise<TreeFile[]> {
    const files = JSON.parse(await this.context.blobs.readText(asDigest(manifest))) as Record<string, string>;
    return Object.entries(files).map(([rel, d]) => [rel, d, statSync(this.context.blobs.pathOf(asDigest(d))).size]);
  }

  /**
   * Lays an output out of blobs the agent uploaded (each verified by SHA-256 and size when it
   * arrived) into `dest`; a problem as a sentence. Paths are checked: an agent writes nowhere
   * but the output's own folder.
   */
  private async receive(listing: TreeListing, dest: string): Promise<string | undefined> {
    for (const [rel, digest] of listing.files) {
      if (listing.kind === "dir" && !safeRelativePath(rel)) return `refused path "${rel.slice(0, 100)}" (outside the output)`;
      if (!/^[0-9a-f]{64}$/.test(digest)) return `"${digest.slice(0, 80)}" is not a digest`;
      if (!(await this.context.blobs.has(asDigest(digest)))) return `blob ${digest} was not uploaded`;
    }
    if (listing.kind === "file") {
      const only = listing.files[0];
      if (!only || listing.files.length !== 1 || !safeRelativePath(listing.name)) return "a file output must be one file";
      // The step replaced its output folder with a file: so does the engine's copy.
      rmdirSync(dest);
      await this.context.blobs.copyOut(asDigest(only[1]), dest);
      return undefined;
    }
    for (const [rel, digest] of listing.files) {
      const to = join(dest, rel);
      mkdirSync(dirname(to), { recursive: true });
      rmSync(to, { force: true });
      await this.context.blobs.copyOut(asDigest(digest), to);
    }
    return undefined;
  }
}

/** "inputs: 0 B moved to agent gpu-1, 1.0 GiB already in its cache; outputs: 12 B uploaded". */
export function describeTransfer(agent: string, t: TransferReport): string {
  return `inputs: ${formatBytes(t.inputBytesMoved)} moved to agent ${agent}, ${formatBytes(t.inputBytesCached)} already in its cache; outputs: ${formatBytes(t.outputBytesMoved)} uploaded, ${formatBytes(t.outputBytesPresent)} already on the server`;
}
