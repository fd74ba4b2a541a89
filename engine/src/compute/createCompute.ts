import type { ComputeTargetConfig } from "../dsl/workspaceConfig.js";
import type { BlobStore } from "../artifacts/BlobStore.js";
import type { TreeHasherDeps } from "../fingerprint/hashTree.js";
import { unreachable } from "../errors/PipebookError.js";
import type { Compute } from "./Compute.js";
import type { GpuSlots } from "./GpuSlots.js";
import { DockerCompute } from "./docker/DockerCompute.js";
import { LocalCompute } from "./LocalCompute.js";
import { RemoteCompute } from "./remote/RemoteCompute.js";
import { SlurmCompute } from "./slurm/SlurmCompute.js";

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

/** A compute target from its settings (pipebook.json or ComputeTarget.attach). */
export function createCompute(name: string, config: ComputeTargetConfig, context: ComputeContext): Compute {
  switch (config.kind) {
    case "local":
      return new LocalCompute(name, context);
    case "docker":
      return new DockerCompute(name, config, context);
    case "slurm":
      return new SlurmCompute(name, config, context);
    case "remote":
      return new RemoteCompute(name, config, context);
    default:
      return unreachable(config);
  }
}
