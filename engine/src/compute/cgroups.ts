// Step cgroups: the one hold on a local step's whole process tree. Loaded by the step launcher
// too (launcherProcess.ts), so it imports nothing but node:fs and node:path.
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Where this process puts each local step in a cgroup of its own: a process and every process it
 * starts stay in their cgroup whatever they do (setsid, a cleared environment, a double fork), so
 * killing the cgroup kills the step's whole tree. cgroup v2 where it has `cgroup.kill` (Linux
 * 5.14); else the cgroup v1 `freezer` hierarchy (frozen, each process killed, thawed); else v2
 * with `cgroup.freeze`.
 */
export interface StepCgroups {
  readonly version: 1 | 2;
  /** The folder holding one cgroup per running step, named by its step run id. */
  readonly base: string;
  /** The cgroup this process was in when it looked (where the launcher returns after each start). */
  readonly own: string;
}

/** Why this machine gives steps no cgroup, or its cgroups; looked up once per process (and PIPEBOOK_CGROUP value). */
const found = new Map<string, StepCgroups | { readonly problem: string }>();

/**
 * The step cgroups of this machine, or why there are none (no cgroup file system mounted, none
 * writable by this user, turned off with PIPEBOOK_CGROUP=off). PIPEBOOK_CGROUP=v1 or v2 picks a
 * version where both are mounted.
 */
export function stepCgroups(): StepCgroups | { readonly problem: string } {
  const want = process.env["PIPEBOOK_CGROUP"] ?? "auto";
  let cgroups = found.get(want);
  if (!cgroups) found.set(want, (cgroups = lookUp(want)));
  return cgroups;
}

interface Hierarchy {
  readonly version: 1 | 2;
  readonly mount: string;
  /** This process's cgroup in it, from the mount's root. */
  readonly own: string;
}

/** The cgroup v2 hierarchy and the v1 freezer hierarchy, those mounted, as this process sees them. */
function hierarchies(): Hierarchy[] | undefined {
  let mounts: string[][];
  let own: string[];
  try {
    mounts = readFileSync("/proc/self/mounts", "utf8").split("\n").map((l) => l.split(" "));
    own = readFileSync("/proc/self/cgroup", "utf8").split("\n");
  } catch {
    return undefined;
  }
  const v2Mount = mounts.find((m) => m[2] === "cgroup2")?.[1];
  const v1Mount = mounts.find((m) => m[2] === "cgroup" && (m[3] ?? "").split(",").includes("freezer"))?.[1];
  const v2Own = own.find((l) => l.startsWith("0::"))?.slice(3);
  const v1Own = own.find((l) => l.split(":")[1]?.split(",").includes("freezer"))?.split(":")[2];
  const found: Hierarchy[] = [];
  if (v2Mount && v2Own !== undefined) found.push({ version: 2, mount: v2Mount, own: v2Own });
  if (v1Mount && v1Own !== undefined) found.push({ version: 1, mount: v1Mount, own: v1Own });
  return found;
}

/** Where step cgroups of a hierarchy go: its root's pipebook folder, or this process's own cgroup's (nested first inside a step). */
function baseCandidates(h: Hierarchy): string[] {
  const ownDir = join(h.mount, h.own);
  // A pipebook inside a step (a pipeline run by a step) keeps its steps inside that step's cgroup.
  const nested = `${h.own}/`.includes("/pipebook/");
  return (nested ? [ownDir, h.mount] : [h.mount, ownDir]).map((parent) => join(parent, "pipebook"));
}

function lookUp(want: string): StepCgroups | { readonly problem: string } {
  if (want === "off") return { problem: "PIPEBOOK_CGROUP=off" };
  if (!["auto", "v1", "v2"].includes(want)) return { problem: `PIPEBOOK_CGROUP is "${want}"; it may be v1, v2, off or unset` };
  const candidates = hierarchies();
  if (!candidates) return { problem: "this system has no /proc/self/mounts or /proc/self/cgroup" };
  const allowed = candidates.filter((c) => want === "auto" || want === `v${c.version}`);
  if (allowed.length === 0) return { problem: want === "auto" ? "no cgroup v2 or cgroup v1 freezer hierarchy is mounted" : `no cgroup ${want} hierarchy${want === "v1" ? " with the freezer controller" : ""} is mounted` };
  const problems: string[] = [];
  const usable: StepCgroups[] = [];
  for (const c of allowed) {
    const ownDir = join(c.mount, c.own);
    // The hierarchy's root first (one place every process of this machine finds), then this
    // process's own cgroup (a delegated one, where the root is not ours to write).
    for (const base of baseCandidates(c)) {
      try {
        mkdirSync(base, { recursive: true });
        accessSync(join(base, "cgroup.procs"), constants.W_OK);
        accessSync(join(ownDir, "cgroup.procs"), constants.W_OK);
        usable.push({ version: c.version, base, own: ownDir });
        break;
      } catch (err) {
        problems.push(`${base}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    }
  }
  // v2 with cgroup.kill (a non-root cgroup shows it from Linux 5.14), then v1's freezer, then v2's freeze.
  const rank = (c: StepCgroups): number => (c.version === 1 ? 1 : existsSync(join(c.base, "cgroup.kill")) ? 0 : 2);
  const best = usable.sort((a, b) => rank(a) - rank(b))[0];
  if (best) sweepStale(best.base);
  return best ?? { problem: `no cgroup could be made (${problems.join("; ")})` };
}

/** A step cgroup made this long ago is entered by now: one that is empty is a leftover. */
const STALE_MS = 60_000;

/**
 * Removes empty step cgroups older than a minute: those of a launcher that was killed, or exited
 * before its last removal was done (rmdir of a cgroup that holds a process fails, so none is lost).
 */
function sweepStale(base: string): void {
  for (const dir of subgroups(base)) {
    try {
      if (Date.now() - statSync(dir).mtimeMs > STALE_MS && cgroupProcesses(dir).length === 0) removeTree(dir);
    } catch {
      // In use, or gone meanwhile.
    }
  }
}

/** Removes a step's cgroup now if it can, trying for up to `ms` while its killed processes are reaped; whether it is gone. */
export function removeCgroupNow(dir: string, ms: number): boolean {
  const until = Date.now() + ms;
  for (;;) {
    try {
      removeTree(dir);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return true;
      if (Date.now() >= until) return false;
      killCgroup(dir);
      // A short synchronous pause (the process is about to exit; nothing else is waiting on it).
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

/** Where the cgroup of one step is: named by its step run id, which recovery finds it by (stopStepCgroups). */
export function stepCgroupDir(cgroups: StepCgroups, stepRunId: string): string {
  return join(cgroups.base, stepRunId);
}

/** Makes the cgroup of one step (an empty one left by an earlier attempt is reused). */
export function createStepCgroup(cgroups: StepCgroups, stepRunId: string): string {
  const dir = stepCgroupDir(cgroups, stepRunId);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Moves the calling process (all its threads) into a cgroup: what it starts from now on is born there. */
export function enterCgroup(dir: string): void {
  writeFileSync(join(dir, "cgroup.procs"), String(process.pid));
}

/** The processes in a cgroup and the cgroups below it (a nested pipebook's steps); none where it is gone. */
export function cgroupProcesses(dir: string): number[] {
  let pids: number[];
  try {
    pids = readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
  for (const sub of subgroups(dir)) pids.push(...cgroupProcesses(sub));
  return pids;
}

function subgroups(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(dir, d.name));
  } catch {
    return [];
  }
}

/**
 * Kills every process in a step's cgroup, those it forks meanwhile too: cgroup.kill where the
 * kernel has it, else the cgroup is frozen (nothing in it runs, so nothing forks or escapes),
 * each process is sent SIGKILL, and it is thawed, so they die. Never throws; a cgroup already
 * gone is no error. Answers whether the cgroup was empty when it ended.
 */
export function killCgroup(dir: string): boolean {
  // Most calls find a step's cgroup empty once its process ended: cgroup v2 says so in one read.
  if (populated(dir) === false) return true;
  const v1 = existsSync(join(dir, "freezer.state"));
  const kill = join(dir, "cgroup.kill");
  for (let pass = 0; pass < 10; pass++) {
    const pids = cgroupProcesses(dir).filter((pid) => pid !== process.pid);
    if (pids.length === 0) return true;
    if (!v1 && tryWrite(kill, "1")) continue;
    const freeze = v1 ? [join(dir, "freezer.state"), "FROZEN", "THAWED"] as const : [join(dir, "cgroup.freeze"), "1", "0"] as const;
    tryWrite(freeze[0], freeze[1]);
    for (const pid of cgroupProcesses(dir)) {
      if (pid === process.pid) continue;
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // Gone meanwhile.
      }
    }
    tryWrite(freeze[0], freeze[2]);
  }
  return cgroupProcesses(dir).length === 0;
}

/**
 * Removes a step's cgroup once it is empty. A process just killed leaves it when its parent has
 * reaped it, a moment later: removal is tried again for up to two seconds (timers that never
 * hold the process open).
 */
export function removeCgroup(dir: string, attempt = 0): void {
  try {
    removeTree(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || attempt >= 100) return;
    if (code === "EBUSY") killCgroup(dir);
    setTimeout(() => removeCgroup(dir, attempt + 1), 20).unref();
  }
}

/**
 * Kills and removes the cgroups of these steps wherever this machine's processes make them (the
 * hierarchy root's folder, or this process's own): recovery stops what an engine and its
 * launcher, killed together, left running. Answers the pids killed.
 */
export function stopStepCgroups(stepRunIds: ReadonlySet<string>): number[] {
  // Every place any pipebook process of this machine may have used, whatever this one would pick.
  const bases = (hierarchies() ?? []).flatMap(baseCandidates);
  const killed: number[] = [];
  for (const base of bases) {
    for (const id of stepRunIds) {
      const dir = join(base, id);
      if (!existsSync(dir)) continue;
      killed.push(...cgroupProcesses(dir));
      killCgroup(dir);
      removeCgroup(dir);
    }
  }
  return killed;
}

/** Names of the step cgroups this machine holds now (tests and diagnostics). */
export function listStepCgroups(): string[] {
  const cgroups = stepCgroups();
  if ("problem" in cgroups) return [];
  try {
    return readdirSync(cgroups.base, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
}

/** A cgroup folder holds no files of its own: rmdir from the leaves up removes it. */
function removeTree(dir: string): void {
  for (const sub of subgroups(dir)) removeTree(sub);
  rmdirSync(dir);
}

/** Whether a cgroup v2 or any cgroup below it holds a process (its `cgroup.events`); undefined where that file is not (v1, gone). */
function populated(dir: string): boolean | undefined {
  try {
    return !readFileSync(join(dir, "cgroup.events"), "utf8").includes("populated 0");
  } catch {
    return undefined;
  }
}

function tryWrite(path: string, value: string): boolean {
  try {
    writeFileSync(path, value);
    return true;
  } catch {
    return false;
  }
}
