import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isAlive, processStart } from "./processIdentity.js";
import { SlotQueue } from "./SlotQueue.js";

/** How often steps waiting for this machine's GPUs look again at locks other processes hold. */
const LOCK_POLL_MS = 250;

/**
 * Hands out whole GPUs so that two steps never share one, across every process using the
 * workspace (kernels, CLI runs, the server): a GPU is held by an exclusive lock file that
 * names its owner process; a lock whose owner died is taken over.
 */
export class GpuSlots {
  private localQueue: SlotQueue<number[]> | undefined;

  constructor(private readonly lockDir: string) {
    mkdirSync(lockDir, { recursive: true });
  }

  /**
   * The fair FIFO queue (the same slot code as a pool of agents) for this machine's GPUs, pool
   * "local". The locks stay the truth across processes; steps of this process queue in order, and
   * the queue polls while they wait, since another process's release is not announced here.
   */
  queue(candidates: readonly number[]): SlotQueue<number[]> {
    this.localQueue ??= new SlotQueue("local", { tryTake: (count, holder) => this.tryAcquire(candidates, count, holder) }, LOCK_POLL_MS);
    return this.localQueue;
  }

  /** Takes `count` free GPUs among `candidates`, all or none; undefined when not enough are free. */
  tryAcquire(candidates: readonly number[], count: number, holder: string): number[] | undefined {
    const taken: number[] = [];
    for (const index of candidates) {
      if (taken.length === count) break;
      if (this.lock(index, holder)) taken.push(index);
    }
    if (taken.length === count) return taken;
    this.release(taken);
    return undefined;
  }

  release(indices: readonly number[]): void {
    for (const i of indices) rmSync(this.file(i), { force: true });
    if (indices.length > 0) this.localQueue?.changed();
  }

  private lock(index: number, holder: string): boolean {
    const body = JSON.stringify({ pid: process.pid, start: processStart(process.pid), holder });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(this.file(index), body, { flag: "wx" });
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        if (!this.isStale(index)) return false;
        rmSync(this.file(index), { force: true });
      }
    }
    return false;
  }

  private isStale(index: number): boolean {
    try {
      const owner = JSON.parse(readFileSync(this.file(index), "utf8")) as { pid: number; start: string };
      return !isAlive(owner.pid, owner.start);
    } catch {
      return false;
    }
  }

  private file(index: number): string {
    return join(this.lockDir, `gpu-${index}.lock`);
  }
}
