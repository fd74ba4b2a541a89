import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { RunOwner } from "../store/RunStore.js";

/** Start time of a process in clock ticks since boot (Linux); "" where /proc is not there. */
export function processStart(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22, counted after the parenthesised command name (which may hold spaces).
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] ?? "";
  } catch {
    return "";
  }
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
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) === "Z") return false;
  } catch {
    // No /proc: trust kill(0).
  }
  return !start || processStart(pid) === start || processStart(pid) === "";
}
