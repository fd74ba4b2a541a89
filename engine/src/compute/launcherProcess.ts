// The step launcher: a small process that starts step processes for the engine and relays their
// output and exit. It loads nothing but node:child_process, node:fs and node:path (with the few
// lines of cgroups.ts and stopStepProcesses.ts), on purpose: fork() copies the page tables of the
// process that calls it, so forking from a lean process costs the same whatever the engine (a
// kernel holding data, a busy server) has in memory, and never blocks its loop.
import { spawn, type ChildProcess, type ChildProcessByStdio } from "node:child_process";
import { accessSync, constants, mkdirSync, rmdirSync, statSync } from "node:fs";
import { isAbsolute } from "node:path";
import type { Readable, Writable } from "node:stream";
import { enterCgroup, killCgroup, removeCgroup, removeCgroupNow } from "./cgroups.js";
import type { LaunchReport, LaunchRequest, LauncherMessage } from "./launcherProtocol.js";
import { stopStepProcesses } from "./stopStepProcesses.js";
import { traceStep } from "./stepTrace.js";

/** How long the output pipes of a step whose process exited are read before its end is reported without them. */
const ORPHAN_OUTPUT_MS = 1000;

const report = (r: LaunchReport): void => {
  process.send?.(r);
};

/**
 * The steps this launcher started and that have not closed: the one record of a step that no
 * engine crash can lose. The engine records a pid when the "started" report arrives; an engine
 * killed between this spawn and that record left a step the store called "queued", which recovery
 * never stopped. The launcher knows every step it started, so it stops them itself.
 */
const running = new Map<number, string | undefined>();

/** Stops every step still running (each leads its group, and has its cgroup where the machine gives one) and exits. */
const stopAllAndExit = (): void => {
  for (const [pid, cgroup] of running) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // Already gone.
    }
    if (cgroup) killCgroup(cgroup);
  }
  for (const cgroup of running.values()) if (cgroup) removeCgroupNow(cgroup, 1000);
  if (waiting) {
    try {
      enterCgroup(waiting.home);
    } catch {
      // Exiting anyway: the cgroup is left empty, and the next pipebook process removes it (cgroups.ts sweepStale).
    }
    if (waiting.shell) {
      waiting.shell.kill("SIGKILL");
      removeCgroupNow(waiting.dir, 1000);
    } else {
      tryRmdir(waiting.dir);
    }
  }
  process.exit(0);
};

/**
 * The cgroup this launcher waits in for the step expected next (LaunchRequest.next), made for it
 * and not yet used; undefined while the launcher is in its own (`home`). No one kills a step's
 * cgroup before its step started, so the launcher is safe there; it goes home after WAIT_MS
 * without that start, or when another start or its exit comes first, and removes the folder
 * (the engine makes it again if that step does start later).
 */
let waiting: { readonly dir: string; readonly home: string; readonly timer: NodeJS.Timeout; shell?: Shell } | undefined;
const WAIT_MS = 10_000;

/**
 * A shell started ahead in the cgroup the launcher waits in, blocked reading its stdin: the
 * expected step's start writes it one command line (`cd`, the step's environment, `exec` of its
 * argv) and the shell becomes the step's process, with its pid, its process group and its cgroup.
 * A spawn() here forks this Node process and waits for the exec that follows (1.3–2.3 ms of a
 * step's start on a two-core machine, p90 4–5 in a cgroup); a small shell ready for the line
 * takes the write and its own exec. Used only where this machine's /bin/sh passes on exactly the
 * environment it is given (`shellFits`), for commands it runs as spawn() would (`shellLine`).
 */
type Shell = ChildProcessByStdio<Writable, Readable, Readable>;

/** Whether /bin/sh, given `shellLine`'s line, runs its command with exactly the environment the line names; undefined until known. */
let shellFits: boolean | undefined;

/**
 * What the probe gives the shell: names a real environment holds that some shells treat as their
 * own (bash sets `_` and SHLVL itself), besides a quoted value.
 */
const PROBE_ENV = { PIPEBOOK_SHELL_PROBE: "a 'b'\n", _: "/probe", SHLVL: "7", PWD: "/probe" };

/** Finds out `shellFits`, once, as the launcher boots: two small processes, done long before a first step comes. */
function probeShell(): void {
  const probe = spawn("/bin/sh", ["-s"], { cwd: "/", env: {}, stdio: ["pipe", "pipe", "ignore"] });
  let out = "";
  probe.stdout.on("data", (d: Buffer) => (out += d.toString()));
  probe.once("error", () => (shellFits = false));
  probe.once("close", (code) => {
    const expected = Object.entries(PROBE_ENV).map(([k, v]) => `${k}=${v}`).sort().join("\0");
    shellFits = code === 0 && out.split("\0").filter(Boolean).sort().join("\0") === expected;
  });
  probe.stdin.on("error", () => undefined);
  probe.stdin.end(shellLine({ argv: ["/usr/bin/env", "-0"], cwd: "/", env: PROBE_ENV }) ?? "exit 1\n");
}

// Ctrl-C, a closed terminal, `timeout` or a service manager signal the whole group: the engine
// decides what to stop (it may cancel its run gracefully); if the signal ends the engine, the
// disconnect below stops the steps.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => undefined);
// The engine is gone (killed, crashed, exited): no step of it may outlive it.
process.on("disconnect", stopAllAndExit);

/**
 * `mount`, when the engine started this launcher in a mount namespace of its own (as root: see
 * readOnlyBinds.ts): there each workspace's data folder is read-only, once, with a writable view
 * of it beside, and inputs elsewhere are bound read-only, each path once.
 */
const MOUNT = process.argv[2];
/** Paths bound read-only in this namespace (or being bound), oldest first. */
const bound = new Map<string, Promise<void>>();
/** Above this many binds the oldest half that no running step reads is unmounted (a long-lived server runs many steps). */
const MAX_BOUND = 2000;
const reading = new Map<number, readonly string[]>();
/** Workspace data folders sealed here (or being sealed). */
const sealed = new Map<string, Promise<void>>();
const DONE = Promise.resolve();

process.on("message", (m: LauncherMessage) => {
  if (m.type === "prepare") {
    // A failure here is left for the first step, whose own request seals again and reports it.
    traceStep(undefined, "L-prepare");
    if (MOUNT) sealWorkspace(m.views)?.then(() => traceStep(undefined, "L-sealed")).catch(() => undefined);
    return;
  }
  if (m.type === "expect") {
    if (!waiting && !runningIn(m.cgroup.dir)) waitIn(m.cgroup.dir, m.cgroup.home);
    return;
  }
  traceStep(m.env["PIPEBOOK_STEP_RUN_ID"], "L-received");
  const binding = MOUNT ? prepareViews(m) : undefined;
  if (!binding) return start(m);
  binding.then(
    () => start(m),
    (err: Error) => {
      report({ id: m.id, type: "spawn-error", message: err.message });
      report({ id: m.id, type: "closed", code: null, signal: null });
    },
  );
});

/** What must be mounted before the step starts; undefined when it already is (every step after a workspace's first). */
function prepareViews(m: LaunchRequest): Promise<unknown> | undefined {
  const waits: Promise<unknown>[] = [];
  if (m.views) {
    const sealing = sealWorkspace(m.views);
    if (sealing) waits.push(sealing);
  }
  if (m.readOnly) {
    const binding = bindReadOnly(m.readOnly);
    if (binding) waits.push(binding);
  }
  return waits.length > 0 ? Promise.all(waits) : undefined;
}

/**
 * Makes a workspace's data folder read-only here and binds it writable at `views.writable`, where
 * steps write their outputs: every output, once written, is read-only to every later step, with
 * no mount per step. Checked at each start (a few stat calls): a data folder removed and made
 * again (a workspace deleted) is sealed again; so are the read-only folders (dataset layouts)
 * once they exist.
 */
function sealWorkspace(views: NonNullable<LaunchRequest["views"]>): Promise<unknown> | undefined {
  const pending = sealed.get(views.data);
  const waits: Promise<unknown>[] = [];
  if (pending !== undefined && pending !== DONE) waits.push(pending);
  else if (pending === undefined || !holds(views)) {
    const stale = pending !== undefined;
    const sealing = (async () => {
      if (stale) {
        await run("umount", ["-l", views.writable]).catch(() => undefined);
        await run("umount", ["-l", views.data]).catch(() => undefined);
      }
      // Both made again where the workspace was (the engine makes them once per process).
      mkdirSync(views.data, { recursive: true });
      mkdirSync(views.writable, { recursive: true });
      // The writable view first: a bind of the folder once it is read-only would be read-only too.
      await run(MOUNT!, ["--bind", views.data, views.writable]);
      await run(MOUNT!, ["--bind", "-o", "ro", views.data, views.data]);
    })();
    sealed.set(views.data, sealing);
    sealing.then(() => sealed.set(views.data, DONE), () => sealed.delete(views.data));
    waits.push(sealing.catch((err: Error) => Promise.reject(new Error(`its workspace's data folder ${views.data} could not be made read-only to steps: ${err.message}`))));
  }
  // Not there yet, or made again since it was bound: bound (again) once it is there.
  const open = views.readOnly.filter((dir) => writable(dir) === true && (bound.get(dir) ?? DONE) === DONE);
  for (const dir of open) bound.delete(dir);
  if (open.length > 0) waits.push(bindReadOnly(open)!);
  return waits.length > 0 ? Promise.all(waits) : undefined;
}

/** Whether a sealed data folder is still read-only here with its writable view on the same folder. */
function holds(views: NonNullable<LaunchRequest["views"]>): boolean {
  try {
    const data = statSync(views.data);
    const view = statSync(views.writable);
    return data.ino === view.ino && data.dev === view.dev && writable(views.data) === false;
  } catch {
    return false;
  }
}

/** true: writable here; false: on a read-only mount; undefined: not there. */
function writable(path: string): boolean | undefined {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? undefined : false;
  }
}

function run(cmd: string, args: readonly string[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    c.stderr.on("data", (d: Buffer) => (err += d.toString()));
    c.once("error", (e) => reject(e));
    c.once("close", (code) => (code === 0 ? resolve() : reject(new Error(err.trim() || `${cmd} exited ${code}`))));
  });
}

/** Binds each path read-only onto itself in this namespace, once; undefined when all already are. */
function bindReadOnly(paths: readonly string[]): Promise<unknown> | undefined {
  const fresh = paths.filter((p) => !bound.has(p));
  if (fresh.length === 0) return paths.some((p) => bound.get(p) !== DONE) ? Promise.all(paths.map((p) => bound.get(p))) : undefined;
  for (const path of fresh) {
    const done = run(MOUNT!, ["--bind", "-o", "ro", path, path]).catch((err: Error) => Promise.reject(new Error(`its input ${path} could not be made read-only: ${err.message}`)));
    bound.set(path, done);
    done.then(() => bound.set(path, DONE), () => bound.delete(path));
  }
  if (bound.size > MAX_BOUND) unbindOldest();
  return Promise.all(paths.map((p) => bound.get(p)));
}

function unbindOldest(): void {
  const inUse = new Set([...reading.values()].flat());
  const old = [...bound.keys()].slice(0, MAX_BOUND / 2).filter((p) => !inUse.has(p) && bound.get(p) === DONE);
  for (const p of old) bound.delete(p);
  if (old.length > 0) spawn("umount", ["-l", ...old], { stdio: "ignore" }).once("error", () => undefined);
}

function start(m: LaunchRequest): void {
  const [cmd, ...args] = m.argv;
  const stepRunId = m.env["PIPEBOOK_STEP_RUN_ID"];
  let child: ChildProcess & { readonly stdout: Readable; readonly stderr: Readable };
  // The step is born in its cgroup: the shell that waited there for it becomes the step, or this
  // process is in it for the fork inside spawn() (it waited there for this step, or enters now)
  // and leaves right after, so no instruction of the step runs outside it (no race with a setsid).
  let cgroupProblem: string | undefined;
  let entered = false;
  const left = waiting;
  if (left) clearTimeout(left.timer);
  waiting = undefined;
  if (m.cgroup && left?.dir === m.cgroup.dir) {
    entered = true;
  } else if (m.cgroup) {
    try {
      enterStepCgroup(m.cgroup.dir);
      entered = true;
    } catch (err) {
      cgroupProblem = `cannot enter ${m.cgroup.dir}: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  // The shell started ahead for this step, where it can run this command.
  const line = left?.shell && left.dir === m.cgroup?.dir ? shellLine(m) : undefined;
  const shell = line !== undefined ? left!.shell : undefined;
  // Waited for another step: not in that step's cgroup any more (home if this one has none), which goes.
  if (left && left.dir !== m.cgroup?.dir) {
    if (!entered) moveTo(left.home);
    discard(left);
  } else if (left?.shell && !shell) {
    left.shell.kill("SIGKILL");
  }
  traceStep(stepRunId, "L-cgroup-entered");
  try {
    if (shell) {
      shell.stdin.end(line);
      child = shell;
    } else {
      // Each step leads its own process group, so the engine can stop a step's whole tree.
      child = spawn(cmd!, args, { cwd: m.cwd, env: m.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    }
  } catch (err) {
    // Some refusals throw here instead of emitting "error" (E2BIG, a NUL in a string): they end
    // this one step, never this process, which relays every other running step.
    if (entered) moveTo(m.cgroup!.home);
    report({ id: m.id, type: "spawn-error", message: err instanceof Error ? err.message : String(err) });
    report({ id: m.id, type: "closed", code: null, signal: null });
    return;
  }
  traceStep(stepRunId, "L-spawned");
  const cgroup = entered ? m.cgroup!.dir : undefined;
  // A pid means the process exists (spawn failures leave it undefined and emit "error"): report
  // it at once rather than a tick later on "spawn", since the engine records it before going on.
  const pid = child.pid;
  if (pid !== undefined) {
    running.set(pid, cgroup);
    if (m.readOnly) reading.set(pid, m.readOnly);
    report({ id: m.id, type: "started", pid, ...(cgroupProblem !== undefined && { cgroupProblem }) });
    traceStep(stepRunId, "L-started-sent");
  }
  // Out of the step's cgroup, once it is reported: into the next step's (never one a running step
  // is in, which is killed with it), else home.
  if (entered) leave(m.cgroup!.home, m.next !== undefined && m.next !== cgroup && !runningIn(m.next) ? m.next : undefined);
  child.once("error", (err) => report({ id: m.id, type: "spawn-error", message: err.message }));
  child.stdout.on("data", (chunk: Buffer) => report({ id: m.id, type: "output", stream: "stdout", base64: chunk.toString("base64") }));
  child.stderr.on("data", (chunk: Buffer) => report({ id: m.id, type: "output", stream: "stderr", base64: chunk.toString("base64") }));
  // The step's process ended: nothing it started may outlive it (a setsid daemon would, and would
  // hold its output pipes, so its close, open). Its cgroup holds them all, its group included
  // (one read where it is empty: cgroups.ts); without one, the group, then those that kept its
  // step id, found by it.
  child.once("exit", () => {
    traceStep(stepRunId, "L-exit");
    if (cgroup) {
      killCgroup(cgroup);
    } else if (pid !== undefined) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // The group is empty.
      }
      if (stepRunId !== undefined) stopStepProcesses(new Set([stepRunId]));
    }
    // A process that escaped both (no cgroup here) still holds the step's pipes: the step ends
    // anyway, what that process writes later is not read.
    const deadline = setTimeout(() => {
      child.stdout.destroy();
      child.stderr.destroy();
    }, ORPHAN_OUTPUT_MS);
    child.once("close", () => clearTimeout(deadline));
  });
  child.once("close", (code, signal) => {
    traceStep(stepRunId, "L-close");
    if (pid !== undefined) {
      running.delete(pid);
      reading.delete(pid);
    }
    // The engine starts the next step on this report: the empty cgroup is removed after it.
    report({ id: m.id, type: "closed", code, signal });
    traceStep(stepRunId, "L-closed-sent");
    if (cgroup) removeCgroup(cgroup);
  });
}

/** Into `next`, made for the step expected there, or, without one or where that fails, `home`. */
function leave(home: string, next: string | undefined): void {
  if (next === undefined || !waitIn(next, home)) moveTo(home);
}

/** Into a step's cgroup, to wait there for that step's start; whether it got there. */
function waitIn(dir: string, home: string): boolean {
  try {
    enterStepCgroup(dir);
  } catch {
    return false;
  }
  const wait: NonNullable<typeof waiting> = { dir, home, timer: setTimeout(goHome, WAIT_MS).unref() };
  waiting = wait;
  if (shellFits) {
    // Born here, in its own session as a step is (it becomes one); its stdin ignores a closed pipe
    // (the shell ended), which the step's exit reports.
    const shell = spawn("/bin/sh", ["-s"], { cwd: "/", env: {}, stdio: ["pipe", "pipe", "pipe"], detached: true });
    shell.stdin.on("error", () => undefined);
    // A shell that could not start has no pid and is not kept; a later error (a kill of one
    // gone) changes nothing.
    shell.once("error", () => undefined);
    // Gone before its step came (killed from outside): that step is spawned.
    shell.once("exit", () => {
      if (wait.shell === shell && waiting === wait) delete wait.shell;
    });
    if (shell.pid !== undefined) wait.shell = shell;
  }
  return true;
}

/** The expected step did not come: home, and its cgroup removed (once the shell waiting there has gone). */
function goHome(): void {
  const left = waiting;
  if (!left) return;
  waiting = undefined;
  moveTo(left.home);
  discard(left);
}

/** A wait that ended without its step: its shell killed, and its cgroup removed (once that shell has gone). */
function discard(left: NonNullable<typeof waiting>): void {
  if (!left.shell) return tryRmdir(left.dir);
  left.shell.once("exit", () => tryRmdir(left.dir));
  left.shell.kill("SIGKILL");
}

/** Whether a started step, not yet closed, is in this cgroup (which is killed with it). */
function runningIn(dir: string): boolean {
  return [...running.values()].includes(dir);
}

/** Names some shell sets, reads or holds read-only for itself (the probe covers `_`, SHLVL and PWD): a step's environment with one is spawned. */
const SHELL_NAMES = new Set(["IFS", "PS1", "PS2", "PS4", "PPID", "OPTIND", "LINENO", "ENV", "CDPATH", "UID", "EUID", "BASHOPTS", "SHELLOPTS", "BASH_ENV"]);

/**
 * The line that has a waiting shell run `m` as spawn() would: in `m.cwd`, with exactly `m.env`
 * (the shell's own PWD and OLDPWD unset, then the step's own set where it has them), stdin
 * /dev/null, every word single-quoted. Undefined where the shell could differ: a command found
 * on PATH or not executable, a missing folder (spawn's own error names them), a name the shell
 * would not take or treats as its own, a NUL byte.
 */
function shellLine(m: Pick<LaunchRequest, "argv" | "cwd" | "env">): string | undefined {
  const [cmd] = m.argv;
  if (cmd === undefined || !isAbsolute(cmd)) return undefined;
  const names = Object.keys(m.env);
  if (names.some((n) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(n) || SHELL_NAMES.has(n))) return undefined;
  const words = [...m.argv, m.cwd, ...Object.values(m.env)];
  if (words.some((w) => w.includes("\0"))) return undefined;
  try {
    accessSync(cmd, constants.X_OK);
    if (!statSync(cmd).isFile() || !statSync(m.cwd).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  const quote = (w: string): string => `'${w.replaceAll("'", "'\\''")}'`;
  const exports = names.length > 0 ? ` && export ${names.map((n) => `${n}=${quote(m.env[n]!)}`).join(" ")}` : "";
  return `cd -- ${quote(m.cwd)} && unset OLDPWD PWD${exports} && exec ${m.argv.map(quote).join(" ")} </dev/null\n`;
}

/** Enters a step's cgroup, made again where it was removed meanwhile (a folder this launcher waited in). */
function enterStepCgroup(dir: string): void {
  try {
    enterCgroup(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    mkdirSync(dir);
    enterCgroup(dir);
  }
}

/** Into a cgroup that is not a step's (the launcher's own); one it cannot reach would leave it in a step's, killed with it, so it stops instead. */
function moveTo(home: string): void {
  try {
    enterCgroup(home);
  } catch (err) {
    process.stderr.write(`pipebook: the step launcher cannot leave the cgroup of a step (${err instanceof Error ? err.message : String(err)}); it stops its steps and exits\n`);
    stopAllAndExit();
  }
}

function tryRmdir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // In use again, or gone.
  }
}

probeShell();
