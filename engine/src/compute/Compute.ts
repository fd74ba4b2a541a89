import type { StepKind } from "../contract/runView.js";
import type { EnvironmentSpec } from "../dsl/Environment.js";
import type { MetricRow } from "../store/RunStore.js";
import type { Resources, ResolvedEnvironment, StepJob } from "./StepJob.js";

/** How a launched step ended; `reason` is what the runner and every printer switch on. */
export type LaunchOutcome =
  | { readonly reason: "exited" }
  | { readonly reason: "exit-non-zero"; readonly code: number | null; readonly signal: string | null }
  | { readonly reason: "timeout"; readonly seconds: number }
  | { readonly reason: "canceled" }
  | { readonly reason: "spawn-failed"; readonly message: string }
  /** Whatever relayed the step's end went away (a launcher process, a remote connection); the step was stopped. */
  | { readonly reason: "lost"; readonly message: string };

/** What a step asks of a target, known at submit. */
export interface StepRequirements {
  readonly stepName: string;
  readonly kind: StepKind;
  readonly environment: EnvironmentSpec;
  readonly resources: Resources;
}

/**
 * What the steps of one submit share while they are prepared: a pipeline of 50 steps naming the
 * same `python3` resolves it once, not 50 times (a PATH walk, pyenv's version lookup, the
 * workspace's interpreters.json: 0.35–0.7 ms of CPU each, docs/run-path.md). Made per submit and
 * dropped with it, never per process: a kernel or a server submits again after a
 * .python-version changed, and that submit must see the change.
 */
export interface PrepareScope {
  /** Resolved interpreters by where they are remembered and the command (hostEnvironment.ts). */
  readonly interpreters: Map<string, Promise<{ readonly path: string; readonly version: string }>>;
}

/** The promise `memo` holds for `key`, or `make`'s, kept for the next asker (a rejection too). */
export function sharedIn<T>(memo: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let hit = memo.get(key);
  if (!hit) memo.set(key, (hit = make()));
  return hit;
}

/** What a target can give at once; the scheduler never starts more than this on it. */
export interface Capacity {
  readonly gpus: number;
  readonly cpus: number;
  readonly memoryMb: number;
  /**
   * The target queues steps itself (a cluster's scheduler): each is handed over as soon as it is
   * ready, and it counts against neither the run's concurrency nor these numbers.
   */
  readonly queues?: true;
}

/** What runs a started step: recorded before it runs, so recovery after a crash can stop it. */
export type RunningHandle =
  | { readonly kind: "process"; readonly pid: number }
  | { readonly kind: "container"; readonly id: string }
  /** A cluster scheduler's job (a Slurm job id): found again by its comment after a crash. */
  | { readonly kind: "batch-job"; readonly id: string }
  /** A process on a `pipebook agent`'s machine: never a pid of this one (recovery must not signal it). */
  | { readonly kind: "agent-process"; readonly agent: string; readonly pid: number };

/**
 * What the engine gives a target for one job: where results must end up on the engine's machine
 * and where the target reports. Outputs are collected from `outputDir` and hashed by the engine
 * (a same-host target writes there directly, so nothing is hashed twice; a remote one brings
 * them back and they are verified against the digests it claims).
 */
export interface JobIO {
  /** Folder of this step run on the engine's machine (logs live here; a same-host target may stage here). */
  readonly stepDir: string;
  /** Where output `name` must be when `run` resolves: exists and is empty. */
  outputDir(name: string): string;
  /** Lays the source snapshot out in `dest`, one copy per file: the stored blobs are never exposed to writes. */
  materializeSnapshot(dest: string): Promise<void>;
  /** A read-only folder holding the snapshot, laid out once per snapshot digest (for read-only binds). */
  sharedSnapshot(): Promise<string | undefined>;
  /**
   * The step's process or container exists and is about to run. The store records it first;
   * when it cannot (a full disk), this throws and the target must stop what it started.
   */
  started(handle: RunningHandle): void;
  output(stream: "stdout" | "stderr", chunk: Buffer): void;
  metrics(rows: readonly MetricRow[]): void;
  /** A line of pipebook's own about the step (waiting for a GPU), shown in its log as "[pipebook] …". */
  note(text: string): void;
}

/**
 * A place steps run: the local machine, a docker engine, a remote GPU machine, a cluster.
 * The runner sees only this interface, so new kinds plug in without touching it. Everything a
 * target accepts at submit it does; what it cannot do it refuses at submit (`prepare`), with a
 * sentence naming the step, the target and what is missing.
 */
export interface Compute {
  readonly name: string;
  readonly kind: string;
  /** Settings that can change a step's results; they enter the reuse key (the name does not). */
  keyFields(): Record<string, unknown>;
  /** What the target can run at once; read by the scheduler, once per run. */
  capacity(): Promise<Capacity>;
  /**
   * At submit: checks the target can give what the step asks and resolves its environment
   * (resolving an image tag to its digest, building a venv or an image once per environment
   * content). Throws a ComputeError (ComputeFailure.ts) otherwise. `progress` shows builds;
   * `scope` is shared by the steps of one submit (absent: nothing is shared).
   */
  prepare(req: StepRequirements, progress: (line: string) => void, scope?: PrepareScope): Promise<ResolvedEnvironment>;
  /**
   * Runs one job to its end; never throws for a step's own failure (that is the outcome).
   * `hints.next`: the step run id of a step of the same run that waits for this one alone, on
   * this target: the target may make its start ready while this one runs (a local target's
   * launcher waits in its cgroup). A hint: a step that does not come costs nothing but that.
   */
  run(job: StepJob, io: JobIO, signal: AbortSignal, hints?: { readonly next?: string }): Promise<LaunchOutcome>;
  /**
   * Steps will run here soon (a run that regenerates its outputs is being submitted): start what
   * the first one waits for (a local target's launcher process) now, while the run is prepared.
   * Never throws; a failure shows when the step runs.
   */
  warm?(): void;
  /**
   * A run starting now begins with this step here, which runs whatever the store holds: make its
   * start ready at once (a local target's launcher waits in its cgroup). Never throws.
   */
  expectFirst?(stepRunId: string): void;
  /**
   * The folder of this machine a step's code runs from, where the target lays it out under the
   * step's folder: the engine may lay it out there ahead, while the step before it runs (the
   * target's own layout then finds it done). Absent: the target runs code from elsewhere.
   */
  workFolder?(stepDir: string): string;
  /**
   * Removes what steps of dead engines left behind (containers, jobs): called when a workspace
   * opens, after orphaned runs were marked failed. `isActive` says whether a step run is still
   * in flight in a live process.
   */
  recover?(isActive: (stepRunId: string) => boolean): Promise<string[]>;
}
