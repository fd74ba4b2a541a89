import { statfsSync } from "node:fs";
import { availableParallelism, hostname, totalmem } from "node:os";
import { detectGpus } from "../compute/GpuInventory.js";
import { AgentError } from "./AgentFailure.js";
import type { AgentGpu, AgentInventory } from "../compute/remote/agentProtocol.js";

/** `--gpus`: every GPU nvidia-smi lists, these indices of them, or none. */
export type GpuChoice = "auto" | "none" | readonly number[];

/**
 * The machine an agent offers: its GPUs from nvidia-smi (index, name, memory), or the stand-ins
 * PIPEBOOK_GPUS names ("0,1": GPUs nvidia-smi does not see, for machines without one and for
 * tests), its CPUs, memory and the free disk where it keeps its cache.
 */
export async function agentInventory(choice: GpuChoice, dir: string, version: string): Promise<AgentInventory> {
  const all = await detectGpus();
  let gpus: readonly AgentGpu[];
  if (choice === "none") gpus = [];
  else if (choice === "auto") gpus = all;
  else {
    const unknown = choice.filter((i) => !all.some((g) => g.index === i));
    if (unknown.length > 0) throw new AgentError({ reason: "gpus-unknown", unknown, has: all.map((g) => g.index) });
    gpus = all.filter((g) => choice.includes(g.index));
  }
  const fs = statfsSync(dir);
  return {
    gpus, cpus: availableParallelism(), memoryMb: Math.floor(totalmem() / 2 ** 20),
    diskFreeMb: Math.floor((fs.bavail * fs.bsize) / 2 ** 20), host: hostname(), version,
  };
}

/** `--gpus auto|none|0,1` as a choice, or undefined for text that is none of these (the CLI words it: CliFailure). */
export function parseGpuChoice(text: string): GpuChoice | undefined {
  if (text === "auto" || text === "none") return text;
  const parts = text.split(",").map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) return undefined;
  return [...new Set(parts.map(Number))];
}
