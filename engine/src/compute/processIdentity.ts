import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { RunOwner } from "../store/RunStore.js";

/**
 * Fields of /proc/PID/stat after the parenthesised command name (which may hold spaces):
 * [0] is the state (field 3), [19] the start time in clock ticks since boot (field 22).
 * Undefined where /proc is not there or the process is gone.
 */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** Start time of a process (Linux); "" where /proc is not there. */
export function processStart(pid: number): string {
  return procStat(pid)?.[19] ?? "";
}

let self: RunOwner | undefined;

/** This process as a run owner; computed once, it never changes. */
export function currentOwner(): RunOwner {
  self ??= { pid: process.pid, host: hostname(), start: processStart(process.pid) };
  return self;
}

/** Whether the process that owned a run is still the same live process (a zombie is not). */
export function isAlive(pid: number, start: string | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  // No /proc: trust kill(0).
  const fields = procStat(pid);
  if (!fields) return true;
  if (fields[0] === "Z") return false;
  return !start || fields[19] === start;
}

/** Signals a step's whole process group (each step is a group leader); one already gone is no error. */
export function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // Already gone.
  }
}
