/**
 * What a step runs in. Every field is part of the step's reuse key: a different
 * interpreter, image, package list or env var can change results.
 */
export type EnvironmentSpec =
  | { readonly kind: "system"; readonly envVars: Readonly<Record<string, string>> }
  | {
      readonly kind: "python";
      /** Interpreter command or path; its reported version enters the key too. */
      readonly interpreter: string;
      readonly pipPackages: readonly string[];
      readonly envVars: Readonly<Record<string, string>>;
    }
  | { readonly kind: "node"; readonly envVars: Readonly<Record<string, string>> }
  | {
      readonly kind: "docker";
      readonly image: string;
      readonly interpreter: string;
      readonly envVars: Readonly<Record<string, string>>;
    };

export class Environment {
  private constructor(readonly spec: EnvironmentSpec) {}

  /** The machine's own tools (shell commands). */
  static system(options: { envVars?: Record<string, string> } = {}): Environment {
    return new Environment({ kind: "system", envVars: { ...options.envVars } });
  }

  static python(options: { interpreter?: string; pipPackages?: string[]; envVars?: Record<string, string> } = {}): Environment {
    return new Environment({
      kind: "python",
      interpreter: options.interpreter ?? "python3",
      pipPackages: [...(options.pipPackages ?? [])].sort(),
      envVars: { ...options.envVars },
    });
  }

  static node(options: { envVars?: Record<string, string> } = {}): Environment {
    return new Environment({ kind: "node", envVars: { ...options.envVars } });
  }

  /** A container image run by the docker compute target. */
  static docker(options: { image: string; interpreter?: string; envVars?: Record<string, string> }): Environment {
    return new Environment({ kind: "docker", image: options.image, interpreter: options.interpreter ?? "python3", envVars: { ...options.envVars } });
  }

  /** Rebuilds an environment stored in a pipeline spec. */
  static fromSpec(spec: EnvironmentSpec): Environment {
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

  constructor(options: { environment?: Environment; gpus?: number } = {}) {
    this.environment = options.environment;
    this.gpus = options.gpus ?? 0;
    if (!Number.isInteger(this.gpus) || this.gpus < 0) throw new TypeError(`RunConfiguration gpus must be a whole number ≥ 0, got ${options.gpus}`);
  }
}
