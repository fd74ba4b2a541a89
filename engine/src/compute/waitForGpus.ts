import type { JobIO } from "./Compute.js";
import type { Gpu } from "./GpuInventory.js";
import type { GpuSlots } from "./GpuSlots.js";
import type { StepJob } from "./StepJob.js";

/**
 * Takes the GPUs a job asked for from the workspace's cross-process locks, waiting (and saying
 * so once in the step's log) while other processes hold them. Undefined when canceled first.
 * The run's scheduler already keeps its own steps within the machine's GPUs; this wait is for
 * GPUs held by other processes (another kernel, a CLI run, the server).
 */
export async function waitForGpus(slots: GpuSlots, gpus: readonly Gpu[], job: StepJob, io: JobIO, signal: AbortSignal): Promise<number[] | undefined> {
  const count = job.resources.gpus;
  let waited = false;
  for (;;) {
    const got = slots.tryAcquire(gpus.map((g) => g.index), count, job.stepRunId);
    if (got !== undefined) return got;
    if (signal.aborted) return undefined;
    if (!waited) io.note(`waiting for ${count} free GPU${count > 1 ? "s" : ""}`);
    waited = true;
    await new Promise((r) => setTimeout(r, 250));
  }
}
