import { readdirSync, readFileSync } from "node:fs";
import { stopStepCgroups } from "./cgroups.js";

/**
 * Set by the local target on the processes its launcher starts (and so inherited by their
 * descendants). A step of another target may also run on this machine — a Slurm job on a node
 * that is this host, a container — and is its scheduler's to stop: recovery cancels those
 * through their target (Compute.recover), never by pid.
 */
export const LOCAL_STEP_MARKER = "PIPEBOOK_LOCAL_STEP";

/**
 * Finds and kills, on this machine, every process that the local target started for one of
 * `stepRunIds`, and returns their pids. Recovery uses it for what the store cannot name: a step
 * started in the instant before its pid was recorded (the engine and its launcher killed
 * together), and a step's descendants that left its process group with setsid. First each step's
 * cgroup (compute/cgroups.ts), which holds every process of the step whatever it did, is killed
 * and removed; then, for steps run where no cgroup could be made, the processes of this user with
 * PIPEBOOK_STEP_RUN_ID and LOCAL_STEP_MARKER in their environment (which every step and its
 * descendants inherit) are: there a process that cleared its environment is not found, and where
 * /proc is not there nothing is.
 */
export function stopStepProcesses(stepRunIds: ReadonlySet<string>): number[] {
  if (stepRunIds.size === 0) return [];
  const killed = new Set<number>(stopStepCgroups(stepRunIds));
  // A process forked during a pass is found by the next; a pass that kills nothing ends it.
  for (let pass = 0; pass < 5; pass++) {
    const found = killPass(stepRunIds);
    if (found.every((pid) => killed.has(pid))) break;
    for (const pid of found) killed.add(pid);
  }
  return [...killed];
}

function killPass(stepRunIds: ReadonlySet<string>): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const killed: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let environ: string;
    try {
      // Only our own processes can be read (and killed); the others throw EACCES.
      environ = readFileSync(`/proc/${pid}/environ`, "latin1");
    } catch {
      continue;
    }
    const vars = environ.split("\0");
    const marker = vars.find((v) => v.startsWith("PIPEBOOK_STEP_RUN_ID="));
    if (!marker || !stepRunIds.has(marker.slice("PIPEBOOK_STEP_RUN_ID=".length)) || !vars.includes(`${LOCAL_STEP_MARKER}=1`)) continue;
    try {
      process.kill(pid, "SIGKILL");
      killed.push(pid);
    } catch {
      // Gone meanwhile.
    }
  }
  return killed;
}
