import type { JobIO } from "./Compute.js";
import type { Gpu } from "./GpuInventory.js";
import type { GpuSlots } from "./GpuSlots.js";
import { describeSlotWait } from "./SlotQueue.js";
import type { StepJob } from "./StepJob.js";

/**
 * Takes the GPUs a job asked for through this machine's slot queue (pool "local", the same fair
 * FIFO code as a pool of agents), waiting in order while other steps or processes hold them and
 * saying so once in the step's log. Undefined when canceled first.
 */
export async function waitForGpus(slots: GpuSlots, gpus: readonly Gpu[], job: StepJob, io: JobIO, signal: AbortSignal): Promise<number[] | undefined> {
  const count = job.resources.gpus;
  const queue = slots.queue(gpus.map((g) => g.index));
  return queue.acquire(count, job.stepRunId, signal, (ahead) => io.note(describeSlotWait(count, queue.pool, ahead)));
}
