import type { ComputeTargetConfig } from "../dsl/workspaceConfigSchema.js";
import type { BlobStore } from "../artifacts/BlobStore.js";
import type { TreeHasherDeps } from "../fingerprint/hashTree.js";
import { unreachable } from "../errors/PipebookError.js";
import type { Capacity, Compute, JobIO, LaunchOutcome, PrepareScope, StepRequirements } from "./Compute.js";
import type { GpuSlots } from "./GpuSlots.js";
import { LocalCompute } from "./LocalCompute.js";
import type { ResolvedEnvironment, StepJob } from "./StepJob.js";
import { targetKeyFields } from "./targetKeyFields.js";

/** What the targets of one workspace share. */
export interface ComputeContext {
  /** The workspace's store folder: labels on containers say which workspace they belong to. */
  readonly workspaceDir: string;
  /** GPU locks shared by every process and target using this machine's GPUs. */
  readonly gpuSlots: GpuSlots;
  /** Where Python virtual environments are built, once per environment content. */
  readonly envsDir: string;
  /** The workspace's stat cache and hash pool: package folders are hashed once, not per submit. */
  readonly hasher: TreeHasherDeps;
  /** The workspace's blobs: what a remote target offers agents and receives from them. */
  readonly blobs: BlobStore;
}

/**
 * A compute target from its settings (pipebook.json or ComputeTarget.attach). The docker, Slurm
 * and agent adapters load when their target is first used, so a pipeline file or a rerun on a
 * workspace that only names them does not load their code.
 */
export function createCompute(name: string, config: ComputeTargetConfig, context: ComputeContext): Compute {
  switch (config.kind) {
    case "local":
      return new LocalCompute(name, context);
    case "docker":
      return new DeferredCompute(name, config, async () => new (await import("./docker/DockerCompute.js")).DockerCompute(name, config, context));
    case "slurm":
      return new DeferredCompute(name, config, async () => new (await import("./slurm/SlurmCompute.js")).SlurmCompute(name, config, context));
    case "remote":
      return new DeferredCompute(name, config, async () => new (await import("./remote/RemoteCompute.js")).RemoteCompute(name, config, context));
    default:
      return unreachable(config);
  }
}

/** A target whose adapter is made on first use; its key fields come from its settings alone. */
class DeferredCompute implements Compute {
  readonly kind: string;
  private adapter: Promise<Compute> | undefined;

  constructor(
    readonly name: string,
    private readonly config: ComputeTargetConfig,
    private readonly load: () => Promise<Compute>,
  ) {
    this.kind = config.kind;
  }

  keyFields(): Record<string, unknown> {
    return targetKeyFields(this.config);
  }

  async capacity(): Promise<Capacity> {
    return (await this.target()).capacity();
  }

  async prepare(req: StepRequirements, progress: (line: string) => void, scope?: PrepareScope): Promise<ResolvedEnvironment> {
    return (await this.target()).prepare(req, progress, scope);
  }

  async run(job: StepJob, io: JobIO, signal: AbortSignal): Promise<LaunchOutcome> {
    return (await this.target()).run(job, io, signal);
  }

  async recover(isActive: (stepRunId: string) => boolean): Promise<string[]> {
    return (await (await this.target()).recover?.(isActive)) ?? [];
  }

  private target(): Promise<Compute> {
    this.adapter ??= this.load();
    return this.adapter;
  }
}
