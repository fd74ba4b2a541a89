/**
 * Messages between the engine and its step launcher process (see StepLauncher). The channel
 * carries JSON: a step's start and end wait on these messages, and V8 serialization costs several
 * times more per small message (most of all in the launcher right after a fork, when every page
 * it touches faults). Output bytes travel base64-encoded for that reason.
 */

/** Engine → launcher: start one process. */
export interface LaunchRequest {
  readonly type: "launch";
  readonly id: number;
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /**
   * The step's own cgroup (compute/cgroups.ts), made by the engine, and the cgroup the launcher
   * returns to after starting it; absent where this machine gives steps none.
   */
  readonly cgroup?: { readonly dir: string; readonly home: string };
  /**
   * The cgroup of the step expected to start next on this launcher (Compute.run's `hints.next`):
   * after starting this one the launcher waits in it instead of its own, so that step is born
   * there with no move on its start's path. Moving a process between cgroups waits for an RCU grace
   * period on kernels whose cgroups are not mounted with `favordynmods` (5–9 ms here, against
   * 0.1 ms for a move soon after another); a move after the start costs the step nothing. Only
   * with `cgroup`.
   */
  readonly next?: string;
  /**
   * Inputs the step reads in place: a launcher in a mount namespace of its own binds each
   * read-only there before the step starts (compute/readOnlyBinds.ts); one without ignores them.
   */
  readonly readOnly?: readonly string[];
  /**
   * The workspace's folders as such a launcher shows them to steps: `data` read-only, bound
   * writable at `writable` (where the step is told to write its outputs), and `readOnly` folders
   * (dataset layouts) read-only.
   */
  readonly views?: { readonly data: string; readonly writable: string; readonly readOnly: readonly string[] };
}

/**
 * Engine → launcher: make a workspace's folders ready (`views`, sealed as for a step) now, before
 * its first step asks: a run whose steps will run is being submitted, and the mounts take longer
 * than the submit has left.
 */
export interface PrepareRequest {
  readonly type: "prepare";
  readonly views: NonNullable<LaunchRequest["views"]>;
}

/**
 * Engine → launcher: wait in this cgroup (made where it is not there) for the step that will
 * start in it: the first step of a run, expected before any step started (`next` says the same
 * after a start). Ignored while the launcher waits for another step.
 */
export interface ExpectRequest {
  readonly type: "expect";
  readonly cgroup: { readonly dir: string; readonly home: string };
}

/** What the engine sends its launcher. */
export type LauncherMessage = LaunchRequest | PrepareRequest | ExpectRequest;

/** Launcher → engine: what happened to a started process, in order; `closed` is always last. */
export type LaunchReport =
  /** `cgroupProblem`: the step was asked into a cgroup and could not be put there (why). */
  | { readonly id: number; readonly type: "started"; readonly pid: number; readonly cgroupProblem?: string }
  | { readonly id: number; readonly type: "output"; readonly stream: "stdout" | "stderr"; readonly base64: string }
  | { readonly id: number; readonly type: "spawn-error"; readonly message: string }
  | { readonly id: number; readonly type: "closed"; readonly code: number | null; readonly signal: string | null };
