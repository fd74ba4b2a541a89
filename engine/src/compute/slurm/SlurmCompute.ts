import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { SlurmTargetConfig } from "../../dsl/workspaceConfigSchema.js";
import { unreachable } from "../../errors/PipebookError.js";
import { MetricsTail } from "../MetricsTail.js";
import { checkResources } from "../checkResources.js";
import type { Capacity, Compute, JobIO, LaunchOutcome, PrepareScope, StepRequirements } from "../Compute.js";
import { ComputeError, type ComputeFailure, type UnseenStaging } from "../ComputeFailure.js";
import type { ComputeContext } from "../createCompute.js";
import { resolveHostEnvironment } from "../environments/hostEnvironment.js";
import { launchSizeProblem } from "../launchSizeProblem.js";
import { HOST_TS_LOADER, resolveJob } from "../resolveJob.js";
import type { ResolvedEnvironment, StepJob } from "../StepJob.js";
import { FileTail } from "./FileTail.js";
import { fileSystemOf } from "./fileSystemOf.js";
import { batchScript, parseJobComment, resourceArgs, sbatchArgs } from "./sbatchArgs.js";
import { SlurmCli, SlurmCommandError, type SlurmNode, type SlurmPartition } from "./SlurmCli.js";
import { SlurmJobWatcher, type JobReport } from "./SlurmJobWatcher.js";
import { phaseOf, pendingNote, slurmOutcome, type AskedFor } from "./slurmOutcome.js";
import { SLURM_FILES, SlurmStaging, type StagedJob } from "./SlurmStaging.js";
import { readOnlyBindsOnNode } from "../readOnlyBinds.js";
import { targetKeyFields } from "../targetKeyFields.js";

/** How long a look at the cluster (partitions, nodes, the shared-folder check) serves submits. */
const CLUSTER_TTL_MS = 30_000;
/** How long recovery waits for the controller when a workspace opens. */
const RECOVER_TIMEOUT_MS = 5000;
/** Logs and metrics are read this often while a job runs. */
const TAIL_MS = 250;

/** What one look at the cluster tells every submit for a while. */
interface ClusterView {
  readonly partition: SlurmPartition;
  readonly nodes: readonly SlurmNode[];
  /** Why the nodes cannot see the staging folder; undefined when they can. */
  readonly unseen: UnseenStaging | undefined;
  /** The partition's nodes are all this machine: every folder here is theirs too. */
  readonly local: boolean;
}

/**
 * Steps as batch jobs of a Slurm cluster: sbatch to submit, one squeue per poll to follow all
 * of a target's jobs, scancel to cancel or stop at the time limit. Slurm is the scheduler:
 * pipebook hands every ready step over at once (capacity `queues`), Slurm grants GPUs as GRES
 * and sets CUDA_VISIBLE_DEVICES, and its queue state shows in the step's log. Jobs carry run and
 * step-run ids in their name and comment, so a killed engine's jobs are found and canceled.
 */
export class SlurmCompute implements Compute {
  readonly kind = "slurm";
  private readonly cli: SlurmCli;
  private readonly watcher: SlurmJobWatcher;
  private readonly staging: SlurmStaging;
  private readonly workspaceKey: string;
  /** The last look at the cluster, and the sbatch --test-only answers given since (they age with it). */
  private view: { at: number; promise: Promise<ClusterView>; tested: Map<string, Promise<void>> } | undefined;

  constructor(
    readonly name: string,
    private readonly config: SlurmTargetConfig,
    private readonly context: ComputeContext,
  ) {
    this.cli = new SlurmCli({ binDir: config.binDir, slurmConf: config.slurmConf });
    this.watcher = new SlurmJobWatcher(this.cli);
    this.workspaceKey = createHash("sha256").update(context.workspaceDir).digest("hex").slice(0, 12);
    const stagingRoot = config.stagingDir === undefined ? undefined : join(config.stagingDir, this.workspaceKey);
    this.staging = new SlurmStaging(stagingRoot, stagingRoot ?? join(context.workspaceDir, "slurm"));
  }

  /**
   * Not keyed: partition, account, qos and options say where and on whose budget a step runs,
   * not what it computes (as a local step's machine is not keyed); the environment is.
   */
  keyFields(): Record<string, unknown> {
    return targetKeyFields(this.config);
  }

  /** Slurm queues: pipebook holds nothing back, however many steps are ready. */
  async capacity(): Promise<Capacity> {
    return { gpus: Infinity, cpus: Infinity, memoryMb: Infinity, queues: true };
  }

  async prepare(req: StepRequirements, progress: (line: string) => void, scope?: PrepareScope): Promise<ResolvedEnvironment> {
    const at = { step: req.stepName, target: this.name };
    const refuse = (failure: ComputeFailure): never => {
      throw new ComputeError(failure);
    };
    const cluster = await this.cluster().catch((err: unknown) => refuse(clusterProblem(err, at, this.cli.where)));
    if (cluster.unseen) refuse({ reason: "staging-unseen", ...at, unseen: cluster.unseen });

    const { partition, nodes } = cluster;
    if (nodes.length > 0) {
      const most = (f: (n: SlurmNode) => number): number => Math.max(...nodes.map(f));
      checkResources(req, this.name, { gpus: most((n) => n.gpus), cpus: most((n) => n.cpus), memoryMb: most((n) => n.memoryMb) }, { largestNodeOf: partition.name });
    }
    const seconds = req.resources.timeoutSeconds;
    if (seconds !== undefined && partition.maxSeconds !== undefined && seconds > partition.maxSeconds) {
      refuse({ reason: "time-limit-exceeded", ...at, seconds, partition: partition.name, maxSeconds: partition.maxSeconds });
    }
    // Whatever else Slurm would refuse (an account, a qos, a constraint no node has), it says now.
    const args = resourceArgs(this.config, req.resources);
    const key = args.join("\0");
    const tested = this.view?.tested ?? new Map<string, Promise<void>>();
    let test = tested.get(key);
    if (!test) {
      test = this.cli.testOnly(args);
      tested.set(key, test);
      test.catch(() => tested.delete(key));
    }
    await test.catch((err: unknown) => refuse(err instanceof SlurmCommandError && err.reason === "refused" ? { reason: "slurm-job-refused", ...at, detail: err.detail } : clusterProblem(err, at, this.cli.where)));

    return this.environment(req, progress, scope);
  }

  async run(job: StepJob, io: JobIO, signal: AbortSignal): Promise<LaunchOutcome> {
    if (signal.aborted) return { reason: "canceled" };
    let staged: StagedJob;
    try {
      staged = await this.staging.stage(job, io);
    } catch (err) {
      return { reason: "spawn-failed", message: `its files could not be staged for the cluster: ${(err as Error).message}` };
    }
    try {
      const unseen = this.staging.inPlace ? await this.unseenInput(job) : undefined;
      if (unseen) return { reason: "spawn-failed", message: unseen };
      const resolved = resolveJob(job, {
        inputs: staged.inputs, outputs: staged.outputs, metricsFile: staged.metricsFile, runtimeDir: staged.runtimeDir,
        inherited: inheritedEnv(job), node: process.execPath, ...(HOST_TS_LOADER && { tsLoader: HOST_TS_LOADER }),
      });
      const env = resolved.env;
      // Inputs read in place (or from the staged copy later jobs share) are read-only to the job.
      const argv = readOnlyBindsOnNode(resolved.argv, job.inputs.filter((i) => i.layout !== "download").map((i) => staged.inputs.get(i.name)!));
      const tooBig = launchSizeProblem(argv, env);
      if (tooBig) return { reason: "spawn-failed", message: tooBig };
      const script = join(staged.jobDir, SLURM_FILES.script);
      writeFileSync(script, batchScript(argv, staged.workDir, job.resources.gpus === 0));
      const stdout = join(staged.jobDir, SLURM_FILES.stdout);
      const stderr = join(staged.jobDir, SLURM_FILES.stderr);
      let id: string;
      try {
        id = await this.cli.submit(
          sbatchArgs(this.config, job.resources, { workspaceKey: this.workspaceKey, runId: job.runId, stepRunId: job.stepRunId, stdout, stderr, workDir: staged.workDir }),
          script, env,
        );
      } catch (err) {
        return { reason: "spawn-failed", message: err instanceof SlurmCommandError ? `Slurm did not take its job: ${err.detail}` : (err as Error).message };
      }
      io.note(`Slurm job ${id}`);

      const tails = [new FileTail(stdout, (c) => io.output("stdout", c)), new FileTail(stderr, (c) => io.output("stderr", c))];
      const metrics = new MetricsTail(staged.metricsFile, (rows) => io.metrics(rows));
      const readAll = (): Promise<unknown> => Promise.all([...tails.map((t) => t.read()), metrics.read()]);
      const poll = setInterval(() => void readAll(), TAIL_MS);
      let outcome: LaunchOutcome;
      try {
        outcome = await this.follow(id, job, io, signal, { timeoutSeconds: job.resources.timeoutSeconds, memoryMb: job.resources.memoryMb, jobDir: staged.jobDir });
      } finally {
        clearInterval(poll);
        await readAll();
      }
      if (outcome.reason !== "exited") return outcome;
      try {
        await staged.bringBack();
      } catch (err) {
        return { reason: "lost", message: `its outputs could not be copied back from ${staged.jobDir}: ${(err as Error).message}` };
      }
      return outcome;
    } finally {
      await staged.cleanUp().catch(() => undefined);
    }
  }

  /** Cancels the jobs of this workspace whose step runs no live engine follows. */
  async recover(isActive: (stepRunId: string) => boolean): Promise<string[]> {
    const canceled: string[] = [];
    // Opening a workspace waits for this: a controller that does not answer soon is left for the next open.
    for (const job of await this.cli.activeJobs(RECOVER_TIMEOUT_MS)) {
      const ids = parseJobComment(job.comment);
      if (!ids || ids.workspaceKey !== this.workspaceKey || isActive(ids.stepRunId)) continue;
      await this.cli.cancel(job.id).then(() => canceled.push(job.id), () => undefined);
    }
    return canceled;
  }

  /** Follows a submitted job to its end; stops it (scancel) on cancel and at the step's time limit. */
  private follow(id: string, job: StepJob, io: JobIO, signal: AbortSignal, asked: AskedFor): Promise<LaunchOutcome> {
    return new Promise((resolve) => {
      let started = false;
      let stopping: "timeout" | "canceled" | undefined;
      let unrecorded: string | undefined;
      let timer: NodeJS.Timeout | undefined;
      let lastNote: string | undefined;
      let troubled = false;
      let done = false;
      const seconds = job.resources.timeoutSeconds;
      const stop = (why: "timeout" | "canceled"): void => {
        if (stopping) return;
        stopping = why;
        this.cli.cancel(id).then(
          () => this.watcher.poke(),
          (err: unknown) => {
            // The step ends now all the same: a job of a step that is no longer running is
            // canceled when the workspace next opens (recover), once Slurm answers again.
            io.note(`scancel ${id} failed (${(err as Error).message}); the job is canceled when the workspace next opens`);
            finish(stopped());
          },
        );
      };
      const stopped = (): LaunchOutcome =>
        unrecorded !== undefined ? { reason: "lost", message: `its start could not be recorded (${unrecorded})` }
          : stopping === "timeout" ? { reason: "timeout", seconds: seconds ?? 0 }
          : { reason: "canceled" };
      const onAbort = (): void => stop("canceled");
      const finish = (outcome: LaunchOutcome): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        unwatch();
        resolve(outcome);
      };
      const onReport = (report: JobReport): void => {
        if (done) return;
        switch (report.kind) {
          case "error":
            if (!troubled) io.note(`cannot reach Slurm to follow job ${id} (${report.message}); still trying`);
            troubled = true;
            return;
          case "unknown":
            unwatch();
            void this.vanished(id, asked).then((outcome) => finish(stopping ? stopped() : outcome));
            return;
          case "state": {
            troubled = false;
            const s = report.state;
            const phase = phaseOf(s.state);
            if (stopping && phase !== "pending" && phase !== "running") return finish(stopped());
            if (phase === "pending") {
              const note = stopping ? undefined : pendingNote(s.partition, s.reason);
              if (note && note !== lastNote) io.note(note);
              lastNote = note ?? lastNote;
              return;
            }
            if (!started) {
              started = true;
              try {
                io.started({ kind: "batch-job", id });
              } catch (err) {
                // A job the store does not know is running must not run on unrecorded.
                unrecorded = (err as Error).message;
                stop("canceled");
                return;
              }
              // The step's time counts from its start, not from its time in the queue.
              if (seconds !== undefined) timer = setTimeout(() => stop("timeout"), seconds * 1000);
            }
            if (phase === "ended") finish(slurmOutcome(s, asked));
            return;
          }
          default:
            return unreachable(report);
        }
      };
      const unwatch = this.watcher.watch(id, onReport);
      signal.addEventListener("abort", onAbort, { once: true });
      if (signal.aborted) stop("canceled");
    });
  }

  /** A job the controller forgot before pipebook saw it end: accounting may still know how it ended. */
  private async vanished(id: string, asked: AskedFor): Promise<LaunchOutcome> {
    const accounted = await this.cli.accounted(id);
    if (accounted) return slurmOutcome({ id, ...accounted }, asked);
    return { reason: "lost", message: `Slurm no longer knows its job ${id} and keeps no accounting to say how it ended` };
  }

  /** In place, an input outside the workspace (a datastore path) must be on a folder the nodes see too. */
  private async unseenInput(job: StepJob): Promise<string | undefined> {
    // A cluster that does not answer now is sbatch's to report.
    const cluster = await this.cluster().catch(() => undefined);
    if (!cluster || cluster.local || this.config.sharedFileSystem) return undefined;
    for (const input of job.inputs) {
      if (input.layout === "download") continue;
      const fs = fileSystemOf(input.source);
      if (!fs.shared) return `its input "${input.name}" lies at ${input.source}, on ${fs.type} (mounted at ${fs.mountPoint}), which the nodes of partition "${cluster.partition.name}" do not see`;
    }
    return undefined;
  }

  /** Partition, nodes and whether they see the staging folder: one look per CLUSTER_TTL_MS. */
  private cluster(): Promise<ClusterView> {
    if (this.view && Date.now() - this.view.at < CLUSTER_TTL_MS) return this.view.promise;
    const promise = (async (): Promise<ClusterView> => {
      const partitions = await this.cli.partitions();
      const partition = this.config.partition === undefined ? partitions.find((p) => p.isDefault) : partitions.find((p) => p.name === this.config.partition);
      if (!partition) throw new PartitionUnknown(this.config.partition, partitions.map((p) => p.name));
      const nodes = await this.cli.nodes(partition.name);
      const here = shortHost(hostname());
      const local = nodes.length > 0 && nodes.every((n) => shortHost(n.hostname) === here);
      const folder = this.config.stagingDir ?? this.context.workspaceDir;
      let unseen: UnseenStaging | undefined;
      if (!local && !this.config.sharedFileSystem) {
        const fs = fileSystemOf(folder);
        if (!fs.shared) {
          unseen = { partition: partition.name, nodes: nodes.map((n) => n.name), folder, fileSystem: fs.type, mountPoint: fs.mountPoint, stagingDirSet: this.config.stagingDir !== undefined };
        }
      }
      return { partition, nodes, unseen, local };
    })();
    this.view = { at: Date.now(), promise, tested: new Map() };
    promise.catch(() => (this.view = undefined));
    return promise;
  }

  /**
   * As on this machine: the nodes are taken to see the same interpreters at the same paths (a
   * shared software tree). A venv must be where the nodes see it: beside the staged data, or in
   * the (shared) workspace.
   */
  private environment(req: StepRequirements, progress: (line: string) => void, scope: PrepareScope | undefined): Promise<ResolvedEnvironment> {
    return resolveHostEnvironment(req.environment, {
      stepName: req.stepName, targetName: this.name, progress, hasher: this.context.hasher, ...(scope && { interpreters: scope.interpreters }),
      envsDir: this.config.stagingDir === undefined ? this.context.envsDir : join(this.config.stagingDir, "envs"),
      refuseImage: (image) => {
        throw new ComputeError({ reason: "image-unsupported", step: req.stepName, target: this.name, image, runsOn: "slurm" });
      },
    });
  }
}

/** The cluster has no partition of that name (or, none named, no default one). */
class PartitionUnknown extends Error {
  constructor(readonly partition: string | undefined, readonly partitions: readonly string[]) {
    super(`no partition ${partition ?? "(default)"}`);
  }
}

/** The failure of a cluster that gave no answer, or no partition to use. */
function clusterProblem(err: unknown, at: { step: string; target: string }, where: string): ComputeFailure {
  if (err instanceof PartitionUnknown) return { reason: "partition-unknown", ...at, partition: err.partition, partitions: err.partitions };
  if (!(err instanceof SlurmCommandError)) return { reason: "slurm-unreachable", ...at, detail: (err as Error).message };
  switch (err.reason) {
    case "missing":
      return { reason: "slurm-missing", ...at, where };
    case "unreachable":
      return { reason: "slurm-unreachable", ...at, detail: err.detail };
    case "refused":
      return { reason: "slurm-refused", ...at, detail: err.detail };
    default:
      return unreachable(err.reason);
  }
}

function shortHost(name: string): string {
  return name.split(".")[0]!.toLowerCase();
}

/**
 * What a job inherits from the engine (sbatch exports it, as a user's shell would): PATH, HOME,
 * locale. Not Slurm's own variables (an engine inside an allocation would hand its job id on, and
 * SBATCH_* would change options behind the target's settings), not GPU selections (Slurm sets
 * them from the GPUs it grants), and for a venv step nothing that reaches past the venv.
 */
function inheritedEnv(job: StepJob): Record<string, string> {
  const venv = job.environment.runtime.env?.["VIRTUAL_ENV"] !== undefined;
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (/^(SLURM_|SBATCH_|SALLOC_|SRUN_)/.test(name) && name !== "SLURM_CONF") continue;
    if (name === "CUDA_VISIBLE_DEVICES" || name === "NVIDIA_VISIBLE_DEVICES" || name === "ROCR_VISIBLE_DEVICES" || name === "GPU_DEVICE_ORDINAL") continue;
    if (venv && (name === "PYTHONPATH" || name === "PYTHONHOME" || name.startsWith("PIP_"))) continue;
    env[name] = value;
  }
  return env;
}
