import type { Capacity, StepRequirements } from "./Compute.js";
import { ComputeError, type ResourceShortfall } from "./ComputeFailure.js";

/**
 * Refuses at submit a step that asks for more than its target has: a step that could never
 * start must not wait in a queue, nor fail inside the run. `gpus` says which GPUs the target has
 * (their names) or where it counted them (the largest node of a Slurm partition), for the sentence.
 */
export function checkResources(
  req: StepRequirements,
  target: string,
  capacity: Capacity,
  gpus?: { readonly names: readonly string[] } | { readonly largestNodeOf: string },
): void {
  const { cpus, memoryMb } = req.resources;
  const shortfalls: ResourceShortfall[] = [];
  if (req.resources.gpus > capacity.gpus) {
    shortfalls.push({ resource: "gpus", asked: req.resources.gpus, has: capacity.gpus, ...(gpus !== undefined && ("names" in gpus ? { gpuNames: gpus.names } : { largestNodeOf: gpus.largestNodeOf })) });
  }
  if (cpus !== undefined && cpus > capacity.cpus) shortfalls.push({ resource: "cpus", asked: cpus, has: capacity.cpus });
  if (memoryMb !== undefined && memoryMb > capacity.memoryMb) shortfalls.push({ resource: "memoryMb", asked: memoryMb, has: capacity.memoryMb });
  if (shortfalls.length > 0) throw new ComputeError({ reason: "resources-exceeded", step: req.stepName, target, shortfalls });
}
