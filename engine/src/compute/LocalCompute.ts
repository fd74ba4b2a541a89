import { availableParallelism, totalmem } from "node:os";
import { join } from "node:path";
import type { TreeHasherDeps } from "../fingerprint/hashTree.js";
import { ComputeError } from "./ComputeFailure.js";
import type { Capacity, Compute, JobIO, LaunchOutcome, PrepareScope, StepRequirements } from "./Compute.js";
import { resolveHostEnvironment } from "./environments/hostEnvironment.js";
import { detectGpus } from "./GpuInventory.js";
import type { GpuSlots } from "./GpuSlots.js";
import { checkResources } from "./checkResources.js";
import type { StepLauncher } from "./StepLauncher.js";
import type { ResolvedEnvironment, StepJob } from "./StepJob.js";
import { targetKeyFields } from "./targetKeyFields.js";

/**
 * What running a step takes (the launcher and node:child_process, cgroups, metrics, the mounts):
 * loaded when a step first runs or the launcher is warmed, so a no-op rerun, which submits and
 * runs nothing, pays for none of it (docs/run-path.md).
 */
let running: Promise<typeof import("./runLocalStep.js")> | undefined;
const runModule = (): Promise<typeof import("./runLocalStep.js")> => (running ??= import("./runLocalStep.js"));

export interface LocalComputeContext {
  /** The workspace's store folder (`.pipebook`): its data folder is read-only to steps, as root, through the launcher. */
  readonly workspaceDir?: string;
  /** Cross-process GPU locks of the workspace (shared with its container targets). */
  readonly gpuSlots?: GpuSlots;
  /** Where the workspace keeps its Python virtual environments. */
  readonly envsDir?: string;
  readonly hasher?: TreeHasherDeps;
  readonly launcher?: StepLauncher;
}

/**
 * Runs steps as child processes of this machine. Each step gets its own process group so a
 * timeout or cancel stops the step's whole process tree, not only its first process. Inputs are
 * read in place (no copies, no hashing beyond the engine's one pass over outputs) and are
 * read-only to the step (compute/readOnlyBinds.ts).
 */
export class LocalCompute implements Compute {
  readonly kind = "local";

  constructor(
    readonly name: string = "local",
    private readonly context: LocalComputeContext = {},
  ) {}

  keyFields(): Record<string, unknown> {
    return targetKeyFields({ kind: "local" });
  }

  async capacity(): Promise<Capacity> {
    return { gpus: (await detectGpus()).length, cpus: availableParallelism(), memoryMb: Math.floor(totalmem() / 2 ** 20) };
  }

  async prepare(req: StepRequirements, progress: (line: string) => void, scope?: PrepareScope): Promise<ResolvedEnvironment> {
    const gpus = await detectGpus();
    checkResources(req, this.name, await this.capacity(), { names: gpus.map((g) => `${g.index}: ${g.name}`) });
    return resolveHostEnvironment(req.environment, {
      stepName: req.stepName, targetName: this.name, envsDir: this.context.envsDir, progress, ...(scope && { interpreters: scope.interpreters }),
      ...(this.context.hasher && { hasher: this.context.hasher }),
      refuseImage: (image) => {
        throw new ComputeError({ reason: "image-unsupported", step: req.stepName, target: this.name, image, runsOn: "this-machine" });
      },
    });
  }

  /** `hints.next`: the launcher waits in that step's cgroup once this one started (launcherProtocol.ts `next`). */
  run(job: StepJob, io: JobIO, signal: AbortSignal, hints?: { readonly next?: string }): Promise<LaunchOutcome> {
    return this.execute(job, io, signal, undefined, hints?.next);
  }

  /** `work` in the step's folder: runLocalStep lays out the code there and runs the step in it. */
  workFolder(stepDir: string): string {
    return join(stepDir, "work");
  }

  /** The launcher waits in the first step's cgroup from now on (runLocalStep.ts expectLocalStep). */
  expectFirst(stepRunId: string): void {
    void runModule().then((m) => m.expectLocalStep(this.context, stepRunId), () => undefined);
  }

  /**
   * The launcher started and the workspace's folders sealed in its namespace while a run is
   * submitted (runLocalStep.ts warmLocalLauncher). Never throws.
   */
  warm(): void {
    void runModule().then((m) => m.warmLocalLauncher(this.context), () => undefined);
  }

  /**
   * Runs a job on GPUs granted elsewhere (a pipebook agent, whose server's pool queue gave it
   * `granted` of this machine's `machineGpus`), or, without a grant, on GPUs taken from this
   * machine's own slot queue.
   */
  async execute(
    job: StepJob, io: JobIO, signal: AbortSignal, grant: { readonly gpus: readonly number[]; readonly machineGpus: number } | undefined, expected?: string,
  ): Promise<LaunchOutcome> {
    return (await runModule()).runLocalStep(this.context, job, io, signal, { ...(grant && { grant }), ...(expected !== undefined && { expected }), workDir: this.workFolder(io.stepDir) });
  }
}
