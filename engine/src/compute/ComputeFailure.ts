import type { PackageSource } from "../dsl/Environment.js";
import { FailureError, unreachable, type PipebookErrorCode } from "../errors/PipebookError.js";

/**
 * Expected failures of preparing a step on a compute target (resources, environments, images,
 * the target's own service: docker engine, Slurm cluster, agent pool), as data;
 * `describeComputeFailure` words them. Refused at submit, before anything runs.
 */
export type ComputeFailure =
  | { readonly reason: "resources-exceeded"; readonly step: string; readonly target: string; readonly shortfalls: readonly ResourceShortfall[] }
  | { readonly reason: "image-unsupported"; readonly step: string; readonly target: string; readonly image: string; readonly runsOn: "this-machine" | "slurm" | "agents" }
  | { readonly reason: "environments-unplaced"; readonly step: string; readonly target: string; readonly pipPackages: readonly string[] }
  | { readonly reason: "agents-build-no-environments"; readonly step: string; readonly target: string; readonly pipPackages: readonly string[] }
  | { readonly reason: "agents-unserved"; readonly target: string }
  | { readonly reason: "agents-too-small"; readonly step: string; readonly target: string; readonly gpus: number; readonly agents: readonly { readonly name: string; readonly gpus: number }[] }
  | { readonly reason: "docker-unreachable"; readonly step: string; readonly target: string; readonly host: string; readonly message: string }
  | { readonly reason: "gpu-runtime-missing"; readonly step: string; readonly target: string; readonly gpus: number; readonly runtimes: readonly string[] }
  | { readonly reason: "image-missing"; readonly step: string; readonly target: string }
  | { readonly reason: "image-unavailable"; readonly step: string; readonly target: string; readonly problem: ImageProblemFacts }
  | { readonly reason: "slurm-missing"; readonly step: string; readonly target: string; readonly where: string }
  | { readonly reason: "slurm-unreachable"; readonly step: string; readonly target: string; readonly detail: string }
  | { readonly reason: "slurm-refused"; readonly step: string; readonly target: string; readonly detail: string }
  /** `partition` undefined: the target names none and the cluster has no default one. */
  | { readonly reason: "partition-unknown"; readonly step: string; readonly target: string; readonly partition: string | undefined; readonly partitions: readonly string[] }
  | { readonly reason: "slurm-job-refused"; readonly step: string; readonly target: string; readonly detail: string }
  | { readonly reason: "staging-unseen"; readonly step: string; readonly target: string; readonly unseen: UnseenStaging }
  | { readonly reason: "time-limit-exceeded"; readonly step: string; readonly target: string; readonly seconds: number; readonly partition: string; readonly maxSeconds: number }
  | { readonly reason: "interpreter-unrunnable"; readonly interpreter: string; readonly message: string }
  | { readonly reason: "environment-unbuildable"; readonly step: string; readonly target: string; readonly problem: EnvironmentProblem };

/** One resource a step asks more of than its target has. */
export type ResourceShortfall =
  | { readonly resource: "gpus"; readonly asked: number; readonly has: number; readonly gpuNames?: readonly string[]; readonly largestNodeOf?: string }
  | { readonly resource: "cpus" | "memoryMb"; readonly asked: number; readonly has: number };

/** Why a docker image cannot be had (docker/dockerImages.ts). */
export type ImageProblemFacts =
  | { readonly kind: "pull-failed"; readonly image: string; readonly message: string }
  | { readonly kind: "missing-after-pull"; readonly image: string }
  | { readonly kind: "find-links-missing"; readonly folder: string }
  | { readonly kind: "build-failed"; readonly image: string; readonly message: string }
  | { readonly kind: "build-unlisted"; readonly tag: string };

/** A Slurm partition whose nodes cannot see the folder steps are staged in. */
export interface UnseenStaging {
  readonly partition: string;
  /** The partition's node names (empty: the cluster named none). */
  readonly nodes: readonly string[];
  readonly folder: string;
  readonly fileSystem: string;
  readonly mountPoint: string;
  readonly stagingDirSet: boolean;
}

/** Why a Python venv cannot be built (environments/pythonVenv.ts). `output` is the tool's own last line. */
export type EnvironmentProblem =
  | { readonly kind: "folder-unwritable"; readonly dir: string; readonly message: string }
  | { readonly kind: "find-links-changed"; readonly folder: string }
  | { readonly kind: "interpreter-unrunnable"; readonly interpreter: string; readonly message: string }
  | { readonly kind: "find-links-missing"; readonly folder: string }
  | { readonly kind: "venv-refused"; readonly python: string; readonly version: string; readonly cause: VenvRefusal }
  | { readonly kind: "venv-broken"; readonly python: string; readonly output: string }
  | { readonly kind: "pip-unreachable"; readonly source: PackageSource; readonly requirement: string; readonly error: string }
  | { readonly kind: "pip-no-version"; readonly source: PackageSource; readonly requirement: string; readonly pipSays: string }
  | { readonly kind: "pip-failed"; readonly source: PackageSource; readonly pipPackages: readonly string[]; readonly output: string }
  | { readonly kind: "freeze-failed"; readonly output: string }
  | { readonly kind: "published-broken"; readonly dir: string };

/** What `python -m venv` said when it refused. */
export type VenvRefusal =
  | { readonly kind: "ensurepip-missing" }
  | { readonly kind: "module-missing"; readonly module: string }
  | { readonly kind: "output"; readonly output: string };

export class ComputeError extends FailureError<ComputeFailure> {
  constructor(failure: ComputeFailure, options?: { cause?: unknown }) {
    super(computeFailureCode(failure), failure, describeComputeFailure(failure), [], options);
  }
}

function computeFailureCode(f: ComputeFailure): PipebookErrorCode {
  return f.reason === "interpreter-unrunnable" ? "step-invalid" : "compute-unavailable";
}

export function describeComputeFailure(f: ComputeFailure): string {
  switch (f.reason) {
    case "resources-exceeded":
      return `step "${f.step}" ${f.shortfalls.map((s) => describeShortfall(s, f.target)).join("; it ")}`;
    case "image-unsupported":
      switch (f.runsOn) {
        case "this-machine":
          return `step "${f.step}" runs in docker image "${f.image}", but compute target "${f.target}" runs steps on this machine without containers: name a docker compute target (computeTarget) for it`;
        case "slurm":
          return `step "${f.step}": compute target "${f.target}" runs steps as Slurm batch jobs without containers, but the step runs in docker image "${f.image}": name a docker compute target (computeTarget) for it`;
        case "agents":
          return `step "${f.step}" runs in docker image "${f.image}", and compute target ${f.target} (agents) runs steps without containers`;
        default:
          return unreachable(f.runsOn);
      }
    case "environments-unplaced":
      return `step "${f.step}": compute target "${f.target}" has no place to build Python environments, so it cannot install ${f.pipPackages.join(", ")}`;
    case "agents-build-no-environments":
      return `step "${f.step}" installs ${f.pipPackages.join(", ")}, and compute target ${f.target} (agents) does not build Python environments yet: use the agent machine's own Python`;
    case "agents-unserved":
      return `compute target ${f.target} is a pool of agents; only \`pipebook serve\` runs steps on it: submit to the server`;
    case "agents-too-small":
      return `step "${f.step}" needs ${f.gpus} GPUs and no agent of pool ${f.target} has that many (${f.agents.map((a) => `${a.name}: ${a.gpus}`).join(", ")})`;
    case "docker-unreachable":
      return `step "${f.step}": compute target "${f.target}" cannot reach its docker engine at ${f.host}: ${f.message}`;
    case "gpu-runtime-missing":
      return `step "${f.step}" asks for ${f.gpus} GPU${f.gpus > 1 ? "s" : ""}, but the docker engine of compute target "${f.target}" has no NVIDIA runtime (runtimes: ${f.runtimes.join(", ") || "none"})`;
    case "image-missing":
      return `step "${f.step}": compute target "${f.target}" names no image for it: give the step Environment.fromDockerImage(…) or set "image" on the target`;
    case "image-unavailable":
      return `step "${f.step}": compute target "${f.target}" cannot give it its image: ${describeImageProblem(f.problem)}`;
    case "slurm-missing":
      return `step "${f.step}": compute target "${f.target}" cannot reach Slurm: its commands (sbatch, squeue, sinfo) are not installed ${f.where}`;
    case "slurm-unreachable":
      return `step "${f.step}": compute target "${f.target}" cannot reach Slurm: ${f.detail}`;
    case "slurm-refused":
      return `step "${f.step}": compute target "${f.target}" cannot use Slurm: ${f.detail}`;
    case "partition-unknown": {
      const names = f.partitions.join(", ") || "none";
      return f.partition === undefined
        ? `step "${f.step}": compute target "${f.target}" cannot use Slurm: the cluster has no default partition: name one in "partition" (partitions: ${names})`
        : `step "${f.step}": compute target "${f.target}" cannot use Slurm: the cluster has no partition "${f.partition}" (partitions: ${names})`;
    }
    case "slurm-job-refused":
      return `step "${f.step}": compute target "${f.target}" cannot run it as asked: Slurm says "${f.detail}"`;
    case "staging-unseen": {
      const u = f.unseen;
      const where = u.nodes.length > 0 ? `nodes ${u.nodes.slice(0, 5).join(", ")}${u.nodes.length > 5 ? ", …" : ""}` : "nodes other than this machine";
      return `step "${f.step}": compute target "${f.target}" runs steps in partition "${u.partition}" on ${where}, which cannot see ${u.folder}: it is on ${u.fileSystem} (mounted at ${u.mountPoint}), a file system of this machine. `
        + `Set "stagingDir" to a folder on a file system the nodes share (NFS, Lustre, GPFS, …)${u.stagingDirSet ? "" : ", or put the workspace on one"}`;
    }
    case "time-limit-exceeded":
      return `step "${f.step}": compute target "${f.target}" cannot give it ${f.seconds} s: partition "${f.partition}" allows jobs ${f.maxSeconds} s at most`;
    case "interpreter-unrunnable":
      return `cannot run the Python interpreter "${f.interpreter}": ${f.message}`;
    case "environment-unbuildable":
      return `step "${f.step}": compute target "${f.target}" cannot build its Python environment: ${describeEnvironmentProblem(f.problem)}`;
    default:
      return unreachable(f);
  }
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

function describeShortfall(s: ResourceShortfall, target: string): string {
  switch (s.resource) {
    case "gpus": {
      const which = s.largestNodeOf !== undefined ? ` (on its largest node in partition "${s.largestNodeOf}")` : s.gpuNames !== undefined && s.gpuNames.length > 0 ? ` (${s.gpuNames.join(", ")})` : "";
      return `needs ${plural(s.asked, "GPU")} and compute target "${target}" has ${s.has === 0 ? "none" : `${s.has}${which}`}`;
    }
    case "cpus":
      return `needs ${s.asked} CPUs and compute target "${target}" has ${s.has}`;
    case "memoryMb":
      return `needs ${s.asked} MiB of memory and compute target "${target}" has ${s.has} MiB`;
    default:
      return unreachable(s);
  }
}

/** Why an image cannot be had, as the docker target's sentence ends. */
export function describeImageProblem(p: ImageProblemFacts): string {
  switch (p.kind) {
    case "pull-failed":
      return `image ${p.image} is not on the engine and could not be pulled: ${p.message}`;
    case "missing-after-pull":
      return `image ${p.image} is not on the engine after pulling it`;
    case "find-links-missing":
      return `its find-links folder ${p.folder} does not exist`;
    case "build-failed":
      return `building its image from ${p.image} failed: ${p.message}`;
    case "build-unlisted":
      return `the engine built ${p.tag} but does not list it`;
    default:
      return unreachable(p);
  }
}

/** Where pip looks for packages, as a person reads it (also in a venv build's progress line). */
export function describePackageSource(source: PackageSource): string {
  const links = source.findLinks.join(", ");
  if (source.indexUrl !== undefined) return links ? `${source.indexUrl} and ${links}` : source.indexUrl;
  return links || "pip's default index (https://pypi.org/simple)";
}

/** The find-links folder that changed during a build (also the progress line of the retry). */
export function describeFindLinksChanged(folder: string): string {
  return `its find-links folder ${folder} changed while the environment was being built`;
}

function describeEnvironmentProblem(p: EnvironmentProblem): string {
  switch (p.kind) {
    case "folder-unwritable":
      return `its folder ${p.dir} cannot be written (${p.message})`;
    case "find-links-changed":
      return describeFindLinksChanged(p.folder);
    case "interpreter-unrunnable":
      return `the Python interpreter "${p.interpreter}" cannot be run (${p.message})`;
    case "find-links-missing":
      return `its find-links folder ${p.folder} does not exist`;
    case "venv-refused":
      return `${p.python} (Python ${p.version}) cannot create a virtual environment (${describeVenvRefusal(p.cause)})`;
    case "venv-broken":
      return `the virtual environment made by ${p.python} does not run as one (${p.output})`;
    case "pip-unreachable":
      return `pip could not reach ${describePackageSource(p.source)} to find ${p.requirement} (${p.error})`;
    case "pip-no-version":
      return `pip found no version of ${p.requirement} in ${describePackageSource(p.source)} (${p.pipSays})`;
    case "pip-failed":
      return `pip could not install ${p.pipPackages.join(", ")} from ${describePackageSource(p.source)} (${p.output})`;
    case "freeze-failed":
      return `pip cannot list what it installed (${p.output})`;
    case "published-broken":
      return `another build published a broken environment in ${p.dir}`;
    default:
      return unreachable(p);
  }
}

function describeVenvRefusal(r: VenvRefusal): string {
  switch (r.kind) {
    case "ensurepip-missing":
      return "ensurepip is not available: on Debian/Ubuntu install python3-venv";
    case "module-missing":
      return `no module named ${r.module}`;
    case "output":
      return r.output;
    default:
      return unreachable(r);
  }
}
