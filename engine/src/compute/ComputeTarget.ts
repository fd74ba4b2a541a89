/** What the runner hands a compute target to start one step. */
export interface StepLaunch {
  readonly stepName: string;
  readonly argv: readonly string[];
  readonly cwd: string;
  /** The complete environment of the process (inherited variables already merged in). */
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number | undefined;
  readonly gpus: number;
}

export interface LaunchCallbacks {
  readonly onStart: (pid: number) => void;
  readonly onOutput: (stream: "stdout" | "stderr", chunk: Buffer) => void;
}

/** How a launched step ended; `reason` is what the runner and every printer switch on. */
export type LaunchOutcome =
  | { readonly reason: "exited" }
  | { readonly reason: "exit-non-zero"; readonly code: number | null; readonly signal: string | null }
  | { readonly reason: "timeout"; readonly seconds: number }
  | { readonly reason: "canceled" }
  | { readonly reason: "spawn-failed"; readonly message: string }
  /** Whatever relayed the step's end went away (a launcher process, a remote connection); the step was stopped. */
  | { readonly reason: "lost"; readonly message: string };

/**
 * A place steps run: the local machine, a docker engine, a remote GPU machine, a cluster.
 * The runner sees only this interface, so new kinds plug in without touching it.
 */
export interface ComputeTarget {
  readonly name: string;
  readonly kind: string;
  /** Settings that can change a step's results; they enter the reuse key (the name does not). */
  keyFields(): Record<string, unknown>;
  launch(spec: StepLaunch, callbacks: LaunchCallbacks, signal: AbortSignal): Promise<LaunchOutcome>;
}
