import { mkdirSync, statSync } from "node:fs";
import { cp } from "node:fs/promises";
import { basename, join } from "node:path";
import type { DockerTargetConfig } from "../../dsl/workspaceConfigSchema.js";
import { ComputeError } from "../ComputeFailure.js";
import { MetricsTail } from "../MetricsTail.js";
import { checkResources } from "../checkResources.js";
import type { Capacity, Compute, JobIO, LaunchOutcome, StepRequirements } from "../Compute.js";
import type { ComputeContext } from "../createCompute.js";
import { detectGpus } from "../GpuInventory.js";
import { launchSizeProblem } from "../launchSizeProblem.js";
import { resolveJob, RUNTIME_DIR } from "../resolveJob.js";
import type { ResolvedEnvironment, StepJob } from "../StepJob.js";
import { waitForGpus } from "../waitForGpus.js";
import { DockerEngine, type BindMount, type RunningContainer } from "./DockerEngine.js";
import { unsealTree } from "../../datasets/readOnlyTree.js";
import { ImageProblem, resolveImage } from "./dockerImages.js";
import { targetKeyFields } from "../targetKeyFields.js";

/** Seconds between SIGTERM and SIGKILL when a container is stopped. */
const STOP_GRACE_S = 3;

/** Where a step finds things inside its container: fixed, so a step's argv means the same on every host. */
const IN = { code: "/pipebook/code", inputs: "/pipebook/inputs", outputs: "/pipebook/outputs", meta: "/pipebook/meta", runtime: "/pipebook/runtime" } as const;

/**
 * Runs each step in a fresh container of a docker engine on this machine: the snapshot and inputs
 * bound read-only, outputs bound writable and written as the engine's own user, live output
 * attached before start, the container removed on every path. Containers carry labels naming
 * the workspace, run and step run, so a killed engine's leftovers are found and removed.
 */
export class DockerCompute implements Compute {
  readonly kind = "docker";
  private readonly engine: DockerEngine;

  constructor(
    readonly name: string,
    private readonly config: DockerTargetConfig,
    private readonly context: ComputeContext,
  ) {
    this.engine = DockerEngine.at(config.host ?? dockerHostFromEnv());
  }

  /**
   * Not keyed: the network (a step that fetches data differs by what it fetched, which its
   * outputs show) and the engine's socket; the image is keyed by digest in the environment.
   */
  keyFields(): Record<string, unknown> {
    return targetKeyFields(this.config);
  }

  async capacity(): Promise<Capacity> {
    const info = await this.engine.info();
    return { gpus: info.runtimes.includes("nvidia") ? (await detectGpus()).length : 0, cpus: info.cpus, memoryMb: info.memoryMb };
  }

  async prepare(req: StepRequirements, progress: (line: string) => void): Promise<ResolvedEnvironment> {
    const at = { step: req.stepName, target: this.name };
    try {
      await this.engine.ping();
    } catch (err) {
      throw new ComputeError({ reason: "docker-unreachable", ...at, host: this.engine.host, message: (err as Error).message.split("\n")[0]! });
    }
    const info = await this.engine.info();
    if (req.resources.gpus > 0 && !info.runtimes.includes("nvidia")) {
      throw new ComputeError({ reason: "gpu-runtime-missing", ...at, gpus: req.resources.gpus, runtimes: info.runtimes });
    }
    checkResources(req, this.name, await this.capacity());

    const env = req.environment;
    const image = env.kind === "docker" ? env.image : this.config.image;
    if (image === undefined) throw new ComputeError({ reason: "image-missing", ...at });
    const interpreter = env.kind === "docker" || env.kind === "python" ? env.interpreter : "python3";
    const additions = {
      interpreter,
      pipPackages: env.kind === "docker" || env.kind === "python" ? env.pipPackages : [],
      packageSource: env.kind === "docker" || env.kind === "python" ? env.packageSource : { findLinks: [] },
      dockerfileLines: env.kind === "docker" ? env.dockerfileLines : [],
    };
    try {
      const resolved = await resolveImage(this.engine, image, additions, this.context.hasher, progress);
      return {
        key: {
          kind: "docker", image, imageId: resolved.baseId, interpreter, pipPackages: additions.pipPackages,
          packageSource: { findLinks: resolved.findLinks, ...(additions.packageSource.indexUrl !== undefined && { indexUrl: additions.packageSource.indexUrl }) },
          dockerfileLines: additions.dockerfileLines,
        },
        runtime: { interpreter, imageId: resolved.runId },
      };
    } catch (err) {
      if (err instanceof ImageProblem) throw new ComputeError({ reason: "image-unavailable", ...at, problem: err.facts });
      throw err;
    }
  }

  async run(job: StepJob, io: JobIO, signal: AbortSignal): Promise<LaunchOutcome> {
    if (signal.aborted) return { reason: "canceled" };
    const mounts: BindMount[] = [];
    const snapshot = await io.sharedSnapshot();
    if (snapshot) mounts.push({ source: snapshot, target: IN.code, readOnly: true });
    const inputs = new Map<string, string>();
    for (const input of job.inputs) {
      const at = `${IN.inputs}/${input.name}`;
      if (input.layout === "download") {
        // The step's own writable copy of a dataset.
        const own = join(io.stepDir, "datasets", input.name);
        await cp(input.source, statSync(input.source).isDirectory() ? own : join(own, basename(input.source)), { recursive: true });
        await unsealTree(own); // copied from a sealed shared layout
        mounts.push({ source: own, target: at, readOnly: false });
        inputs.set(input.name, statSync(input.source).isDirectory() ? at : `${at}/${basename(input.source)}`);
      } else if (input.layout === "file") {
        mounts.push({ source: input.source, target: `${at}/${basename(input.source)}`, readOnly: true });
        inputs.set(input.name, `${at}/${basename(input.source)}`);
      } else {
        mounts.push({ source: input.source, target: at, readOnly: true });
        inputs.set(input.name, at);
      }
    }
    const outputs = new Map<string, string>();
    for (const name of job.outputs) {
      mounts.push({ source: io.outputDir(name), target: `${IN.outputs}/${name}`, readOnly: false });
      outputs.set(name, `${IN.outputs}/${name}`);
    }
    const meta = join(io.stepDir, "meta");
    mkdirSync(meta, { recursive: true });
    mounts.push({ source: meta, target: IN.meta, readOnly: false }, { source: RUNTIME_DIR.replace(/\/$/, ""), target: IN.runtime, readOnly: true });
    // The engine's own environment never enters the container.
    const { argv, env } = resolveJob(job, { inputs, outputs, metricsFile: `${IN.meta}/metrics.jsonl`, runtimeDir: IN.runtime, inherited: { HOME: "/tmp" }, node: "node" });
    const tooBig = launchSizeProblem(argv, env);
    if (tooBig) return { reason: "spawn-failed", message: tooBig };

    const gpus = job.resources.gpus > 0 ? await detectGpus() : [];
    const held = job.resources.gpus > 0 ? await waitForGpus(this.context.gpuSlots, gpus, job, io, signal) : [];
    if (held === undefined) return { reason: "canceled" };
    // A step that asked for no GPU sees none, even under a runtime that would hand out all.
    if (held.length === 0) env["NVIDIA_VISIBLE_DEVICES"] = "void";
    const metrics = new MetricsTail(join(meta, "metrics.jsonl"), (rows) => io.metrics(rows));
    const poll = setInterval(() => void metrics.read(), 300);
    let container: RunningContainer | undefined;
    try {
      try {
        container = await this.engine.create(
          {
            image: job.environment.runtime.imageId!, argv, env, workingDir: IN.code,
            user: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
            labels: { "pipebook.workspace": this.context.workspaceDir, "pipebook.run": job.runId, "pipebook.step-run": job.stepRunId, "pipebook.target": this.name },
            mounts,
            ...(this.config.network !== undefined && { network: this.config.network }),
            ...(job.resources.cpus !== undefined && { nanoCpus: Math.round(job.resources.cpus * 1e9) }),
            ...(job.resources.memoryMb !== undefined && { memoryBytes: job.resources.memoryMb * 2 ** 20 }),
            ...(held.length > 0 && { gpuIds: held.map(String) }),
          },
          (stream, chunk) => io.output(stream, chunk),
        );
      } catch (err) {
        return { reason: "spawn-failed", message: `docker could not create its container: ${(err as Error).message.split("\n")[0]}` };
      }
      try {
        io.started({ kind: "container", id: container.id });
      } catch (err) {
        // A container the store does not know of could not be found after a crash by its step: never start it.
        return { reason: "lost", message: `its start could not be recorded (${(err as Error).message})` };
      }
      return await this.supervise(container, job, signal);
    } finally {
      clearInterval(poll);
      await container?.remove().catch(() => undefined);
      await metrics.finish();
      this.context.gpuSlots.release(held);
    }
  }

  async recover(isActive: (stepRunId: string) => boolean): Promise<string[]> {
    await this.engine.ping(2000);
    const removed: string[] = [];
    for (const c of await this.engine.containers([`pipebook.workspace=${this.context.workspaceDir}`])) {
      const stepRun = c.labels["pipebook.step-run"];
      if (stepRun !== undefined && isActive(stepRun)) continue;
      await this.engine.removeContainer(c.id).catch(() => undefined);
      removed.push(c.id);
    }
    return removed;
  }

  /** Starts the container and waits for its end, stopping it on timeout or cancel. */
  private async supervise(container: RunningContainer, job: StepJob, signal: AbortSignal): Promise<LaunchOutcome> {
    let stopping: "timeout" | "canceled" | undefined;
    const stop = (why: "timeout" | "canceled"): void => {
      if (stopping) return;
      stopping = why;
      void container.stop(STOP_GRACE_S);
    };
    const seconds = job.resources.timeoutSeconds;
    const timer = seconds === undefined ? undefined : setTimeout(() => stop("timeout"), seconds * 1000);
    const onAbort = (): void => stop("canceled");
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      if (signal.aborted) return { reason: "canceled" };
      try {
        await container.start();
      } catch (err) {
        return { reason: "spawn-failed", message: `docker could not start its container: ${(err as Error).message.split("\n")[0]}` };
      }
      const exit = await container.exited();
      if (stopping === "timeout") return { reason: "timeout", seconds: seconds ?? 0 };
      if (stopping === "canceled") return { reason: "canceled" };
      if (exit.code === 0) return { reason: "exited" };
      // The kernel's OOM killer sends SIGKILL: say so by name rather than "exit 137".
      return { reason: "exit-non-zero", code: exit.oomKilled ? null : exit.code, signal: exit.oomKilled ? "SIGKILL (out of memory)" : null };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    }
  }
}

/** DOCKER_HOST when it names a socket, else the usual one. */
function dockerHostFromEnv(): string {
  const env = process.env["DOCKER_HOST"];
  return env?.startsWith("unix://") ? env : "unix:///var/run/docker.sock";
}
