import { resolve } from "node:path";
import { StepError } from "./StepFailure.js";

/**
 * Where pip finds packages: folders of wheels (`--find-links`, with no index) or an index URL.
 * It is part of the environment: the same names from another source can be other code.
 */
export interface PackageSource {
  /** Folders of wheels and sdists, absolute (relative ones are resolved at creation). */
  readonly findLinks: readonly string[];
  readonly indexUrl?: string;
}

/**
 * What a step runs in. Every field is part of the step's reuse key (a docker image by its
 * digest, a package source by its content): a different interpreter, image, package list or
 * env var can change results.
 */
export type EnvironmentSpec =
  | { readonly kind: "system"; readonly envVars: Readonly<Record<string, string>> }
  | {
      readonly kind: "python";
      /** Interpreter command or path; its reported version enters the key too. */
      readonly interpreter: string;
      /** pip requirement strings; with any, the step runs in a virtual environment built for them. */
      readonly pipPackages: readonly string[];
      readonly packageSource: PackageSource;
      readonly envVars: Readonly<Record<string, string>>;
    }
  | { readonly kind: "node"; readonly envVars: Readonly<Record<string, string>> }
  | {
      readonly kind: "docker";
      /** Base image by name (its digest, resolved at submit, is what the key holds). */
      readonly image: string;
      /** Interpreter inside the image for Python steps. */
      readonly interpreter: string;
      /** Installed on top of the image (a derived image, built once per environment content). */
      readonly pipPackages: readonly string[];
      readonly packageSource: PackageSource;
      /** Dockerfile lines appended after `FROM <image>` (RUN, ENV, …; no COPY: there is no build context). */
      readonly dockerfileLines: readonly string[];
      readonly envVars: Readonly<Record<string, string>>;
    };

interface PackageOptions {
  pipPackages?: readonly string[];
  /** Folders of wheels to install from, without any index (pip --no-index --find-links). */
  findLinks?: readonly string[];
  /** A package index (pip --index-url). */
  indexUrl?: string;
}

function packageSource(options: PackageOptions): PackageSource {
  return {
    findLinks: (options.findLinks ?? []).map((f) => resolve(f)),
    ...(options.indexUrl !== undefined && { indexUrl: options.indexUrl }),
  };
}

function packages(list: readonly string[] | undefined): string[] {
  const out = [...(list ?? [])].map((p) => p.trim()).sort();
  for (const p of out) {
    if (p === "" || p.startsWith("-")) throw new StepError({ reason: "pip-package-invalid", package: p });
  }
  return out;
}

export class Environment {
  private constructor(readonly spec: EnvironmentSpec) {}

  /** The machine's own tools (shell commands). */
  static system(options: { envVars?: Record<string, string> } = {}): Environment {
    return new Environment({ kind: "system", envVars: { ...options.envVars } });
  }

  /**
   * A Python interpreter; with `pipPackages`, a virtual environment made from it with exactly
   * those packages (built once per environment content, reused after), or a docker image
   * derived from the target's image on a docker target.
   */
  static python(options: { interpreter?: string; envVars?: Record<string, string> } & PackageOptions = {}): Environment {
    return new Environment({
      kind: "python",
      interpreter: options.interpreter ?? "python3",
      pipPackages: packages(options.pipPackages),
      packageSource: packageSource(options),
      envVars: { ...options.envVars },
    });
  }

  static node(options: { envVars?: Record<string, string> } = {}): Environment {
    return new Environment({ kind: "node", envVars: { ...options.envVars } });
  }

  /** A container image, run by a docker compute target; optional packages and Dockerfile lines on top. */
  static docker(
    options: { image: string; interpreter?: string; dockerfileLines?: readonly string[]; envVars?: Record<string, string> } & PackageOptions,
  ): Environment {
    if (!options.image || /\s/.test(options.image)) throw new StepError({ reason: "image-invalid", image: options.image });
    return new Environment({
      kind: "docker",
      image: options.image,
      interpreter: options.interpreter ?? "python3",
      pipPackages: packages(options.pipPackages),
      packageSource: packageSource(options),
      dockerfileLines: [...(options.dockerfileLines ?? [])],
      envVars: { ...options.envVars },
    });
  }

  /** The seeds' `Environment.from_docker_image`: an image as it is. */
  static fromDockerImage(image: string, options: { interpreter?: string; envVars?: Record<string, string> } = {}): Environment {
    return Environment.docker({ image, ...options });
  }

  /** Rebuilds an environment stored in a pipeline spec (specs stored before packages existed lack those fields). */
  static fromSpec(spec: EnvironmentSpec): Environment {
    const findLinks = { findLinks: [] };
    if (spec.kind === "python") return new Environment({ ...spec, pipPackages: spec.pipPackages ?? [], packageSource: spec.packageSource ?? findLinks });
    if (spec.kind === "docker") {
      return new Environment({ ...spec, pipPackages: spec.pipPackages ?? [], packageSource: spec.packageSource ?? findLinks, dockerfileLines: spec.dockerfileLines ?? [] });
    }
    return new Environment(spec);
  }

  get envVars(): Readonly<Record<string, string>> {
    return this.spec.envVars;
  }
}

/** Per-step run settings, as in the seeds' RunConfiguration. */
export class RunConfiguration {
  readonly environment: Environment | undefined;
  /** GPUs the step needs; the scheduler never gives one GPU to two steps. */
  readonly gpus: number;
  /** CPU cores the step needs: reserved while it runs (and a container's limit). */
  readonly cpus: number | undefined;
  /** Memory in MiB the step needs: reserved while it runs (and a container's limit). */
  readonly memoryMb: number | undefined;

  constructor(options: { environment?: Environment; gpus?: number; cpus?: number; memoryMb?: number } = {}) {
    this.environment = options.environment;
    this.gpus = options.gpus ?? 0;
    if (!Number.isInteger(this.gpus) || this.gpus < 0) throw new StepError({ reason: "resource-invalid", resource: "gpus", value: options.gpus });
    if (options.cpus !== undefined && !(typeof options.cpus === "number" && options.cpus > 0 && Number.isFinite(options.cpus))) {
      throw new StepError({ reason: "resource-invalid", resource: "cpus", value: options.cpus });
    }
    if (options.memoryMb !== undefined && !(Number.isInteger(options.memoryMb) && options.memoryMb >= 6)) {
      throw new StepError({ reason: "resource-invalid", resource: "memoryMb", value: options.memoryMb });
    }
    this.cpus = options.cpus;
    this.memoryMb = options.memoryMb;
  }
}
