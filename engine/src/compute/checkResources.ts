import { PipebookError } from "../errors/PipebookError.js";
import type { Capacity, StepRequirements } from "./Compute.js";

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/**
 * Refuses at submit a step that asks for more than its target has: a step that could never
 * start must not wait in a queue, nor fail inside the run. `gpuNames` lists the GPUs for the sentence.
 */
export function checkResources(req: StepRequirements, target: string, capacity: Capacity, gpuNames?: string): void {
  const { gpus, cpus, memoryMb } = req.resources;
  const problems: string[] = [];
  if (gpus > capacity.gpus) {
    problems.push(`needs ${plural(gpus, "GPU")} and compute target "${target}" has ${capacity.gpus === 0 ? "none" : `${capacity.gpus}${gpuNames ? ` (${gpuNames})` : ""}`}`);
  }
  if (cpus !== undefined && cpus > capacity.cpus) problems.push(`needs ${cpus} CPUs and compute target "${target}" has ${capacity.cpus}`);
  if (memoryMb !== undefined && memoryMb > capacity.memoryMb) problems.push(`needs ${memoryMb} MiB of memory and compute target "${target}" has ${capacity.memoryMb} MiB`);
  if (problems.length > 0) throw new PipebookError("compute-unavailable", `step "${req.stepName}" ${problems.join("; it ")}`);
}
