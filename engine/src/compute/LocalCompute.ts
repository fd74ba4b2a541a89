import type { ComputeTarget, LaunchCallbacks, LaunchOutcome, StepLaunch } from "./ComputeTarget.js";
import { detectGpus } from "./GpuInventory.js";
import type { GpuSlots } from "./GpuSlots.js";
import { StepLauncher } from "./StepLauncher.js";

/** Grace between SIGTERM and SIGKILL when a step is stopped. */
const KILL_GRACE_MS = 3000;

/**
 * Runs steps as child processes of this machine. Each step gets its own process group so a
 * timeout or cancel stops the step's whole process tree, not only its first process.
 */
export class LocalCompute implements ComputeTarget {
  readonly kind = "local";

  constructor(
    readonly name: string = "local",
    private readonly gpuSlots?: GpuSlots,
    private readonly launcher: StepLauncher = StepLauncher.shared(),
  ) {}

  keyFields(): Record<string, unknown> {
    return { kind: "local" };
  }

  async launch(spec: StepLaunch, callbacks: LaunchCallbacks, signal: AbortSignal): Promise<LaunchOutcome> {
    const gpus = await detectGpus();
    if (spec.gpus > gpus.length) {
      return { reason: "spawn-failed", message: `it needs ${spec.gpus} GPU${spec.gpus > 1 ? "s" : ""} and compute target "${this.name}" has ${gpus.length === 0 ? "none" : `${gpus.length} (${gpus.map((g) => `${g.index}: ${g.name}`).join(", ")})`}` };
    }
    let held: number[] = [];
    if (spec.gpus > 0 && this.gpuSlots) {
      const slots = this.gpuSlots;
      const acquired = await waitFor(() => slots.tryAcquire(gpus.map((g) => g.index), spec.gpus, spec.stepName), signal, () =>
        callbacks.onOutput("stderr", Buffer.from(`[pipebook] waiting for ${spec.gpus} free GPU${spec.gpus > 1 ? "s" : ""}\n`)),
      );
      if (!acquired) return { reason: "canceled" };
      held = acquired;
    }
    // A step sees only its own GPUs; one that asked for none sees none (no accidental sharing).
    const env = gpus.length > 0 ? { ...spec.env, CUDA_VISIBLE_DEVICES: held.join(","), NVIDIA_VISIBLE_DEVICES: held.length > 0 ? held.join(",") : "void" } : spec.env;
    try {
      return await this.spawnStep({ ...spec, env }, callbacks, signal);
    } finally {
      this.gpuSlots?.release(held);
    }
  }

  private spawnStep(spec: StepLaunch, callbacks: LaunchCallbacks, signal: AbortSignal): Promise<LaunchOutcome> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve({ reason: "canceled" });
      let pid: number | undefined;
      let stopping: "timeout" | "canceled" | undefined;
      let killTimer: NodeJS.Timeout | undefined;
      const stop = (why: "timeout" | "canceled"): void => {
        if (stopping) return;
        stopping = why;
        // Not started yet: it is stopped as soon as its pid is known.
        if (pid === undefined) return;
        killGroup(pid, "SIGTERM");
        const group = pid;
        killTimer = setTimeout(() => killGroup(group, "SIGKILL"), KILL_GRACE_MS);
      };
      const timer = spec.timeoutMs === undefined ? undefined : setTimeout(() => stop("timeout"), spec.timeoutMs);
      const onAbort = (): void => stop("canceled");
      signal.addEventListener("abort", onAbort, { once: true });
      this.launcher.launch(
        { argv: spec.argv, cwd: spec.cwd, env: spec.env },
        {
          onStarted: (started) => {
            pid = started;
            callbacks.onStart(started);
            if (stopping) killGroup(started, "SIGKILL");
          },
          onOutput: (stream, chunk) => callbacks.onOutput(stream, chunk),
          onEnd: (end) => {
            clearTimeout(timer);
            clearTimeout(killTimer);
            signal.removeEventListener("abort", onAbort);
            // The step's own children may outlive it in its group; they go with it.
            if (pid !== undefined) killGroup(pid, "SIGKILL");
            if (end.type === "lost") return resolve({ reason: "lost", message: end.message });
            if (end.spawnError !== undefined) return resolve({ reason: "spawn-failed", message: `cannot start ${spec.argv[0]}: ${end.spawnError}` });
            if (stopping === "timeout") return resolve({ reason: "timeout", seconds: (spec.timeoutMs ?? 0) / 1000 });
            if (stopping === "canceled") return resolve({ reason: "canceled" });
            if (end.code === 0) return resolve({ reason: "exited" });
            resolve({ reason: "exit-non-zero", code: end.code, signal: end.signal });
          },
        },
      );
    });
  }
}

/** Polls `attempt` until it yields a value or the signal aborts; `onWait` is called once if it has to wait. */
async function waitFor<T>(attempt: () => T | undefined, signal: AbortSignal, onWait: () => void): Promise<T | undefined> {
  let waited = false;
  for (;;) {
    const got = attempt();
    if (got !== undefined) return got;
    if (signal.aborted) return undefined;
    if (!waited) onWait();
    waited = true;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // Already gone.
  }
}
