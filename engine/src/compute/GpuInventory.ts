import { existsSync } from "node:fs";
import { promisify } from "node:util";

export interface Gpu {
  readonly index: number;
  readonly name: string;
  /** Its memory in MiB as nvidia-smi reports it; 0 for a PIPEBOOK_GPUS stand-in. */
  readonly memoryMb: number;
}

let detected: Promise<readonly Gpu[]> | undefined;

/**
 * The GPUs of this machine, read once per process from `nvidia-smi`. `PIPEBOOK_GPUS`
 * ("0,1" or "none") overrides it, to give pipebook a subset of a shared machine.
 */
export function detectGpus(): Promise<readonly Gpu[]> {
  detected ??= (async () => {
    const forced = process.env["PIPEBOOK_GPUS"];
    if (forced !== undefined) {
      if (forced.trim() === "" || forced.trim() === "none") return [];
      return forced.split(",").map((s) => ({ index: Number(s.trim()), name: `GPU ${s.trim()} (from PIPEBOOK_GPUS)`, memoryMb: 0 }));
    }
    // No NVIDIA driver loaded, no NVIDIA GPU: asking nvidia-smi would cost a process start per
    // CLI call for nothing.
    if (process.platform === "linux" && !existsSync("/proc/driver/nvidia")) return [];
    try {
      // node:child_process (~7 ms of CPU to load here) only where there is a driver to ask.
      const { execFile } = await import("node:child_process");
      const { stdout } = await promisify(execFile)("nvidia-smi", ["--query-gpu=index,name,memory.total", "--format=csv,noheader,nounits"], { timeout: 15_000 });
      return stdout
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((line) => {
          const parts = line.split(",").map((p) => p.trim());
          const memory = Number(parts.pop());
          const index = Number(parts.shift());
          return { index, name: parts.join(","), memoryMb: Number.isFinite(memory) ? memory : 0 };
        });
    } catch {
      return [];
    }
  })();
  return detected;
}
