// The step launcher: a small process that starts step processes for the engine and relays their
// output and exit. It loads nothing but node:child_process, on purpose: fork() copies the page
// tables of the process that calls it, so forking from a lean process costs the same whatever
// the engine (a kernel holding data, a busy server) has in memory, and never blocks its loop.
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";
import type { LaunchReport, LaunchRequest } from "./launcherProtocol.js";

const report = (r: LaunchReport): void => {
  process.send?.(r);
};

/**
 * The steps this launcher started and that have not closed: the one record of a step that no
 * engine crash can lose. The engine records a pid when the "started" report arrives; an engine
 * killed between this spawn and that record left a step the store called "queued", which recovery
 * never stopped. The launcher knows every step it started, so it stops them itself.
 */
const running = new Set<number>();

/** Stops every step still running (each leads its group) and exits: nothing is left to report to. */
const stopAllAndExit = (): void => {
  for (const pid of running) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  process.exit(0);
};

// Ctrl-C, a closed terminal, `timeout` or a service manager signal the whole group: the engine
// decides what to stop (it may cancel its run gracefully); if the signal ends the engine, the
// disconnect below stops the steps.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => undefined);
// The engine is gone (killed, crashed, exited): no step of it may outlive it.
process.on("disconnect", stopAllAndExit);

process.on("message", (m: LaunchRequest) => {
  const [cmd, ...args] = m.argv;
  let child: ChildProcessByStdio<null, Readable, Readable>;
  try {
    // Each step leads its own process group, so the engine can stop a step's whole tree.
    child = spawn(cmd!, args, { cwd: m.cwd, env: m.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  } catch (err) {
    // Some refusals throw here instead of emitting "error" (E2BIG, a NUL in a string): they end
    // this one step, never this process, which relays every other running step.
    report({ id: m.id, type: "spawn-error", message: err instanceof Error ? err.message : String(err) });
    report({ id: m.id, type: "closed", code: null, signal: null });
    return;
  }
  // A pid means the process exists (spawn failures leave it undefined and emit "error"): report
  // it at once rather than a tick later on "spawn", since the engine records it before going on.
  const pid = child.pid;
  if (pid !== undefined) {
    running.add(pid);
    report({ id: m.id, type: "started", pid });
  }
  child.once("error", (err) => report({ id: m.id, type: "spawn-error", message: err.message }));
  child.stdout.on("data", (chunk: Buffer) => report({ id: m.id, type: "output", stream: "stdout", base64: chunk.toString("base64") }));
  child.stderr.on("data", (chunk: Buffer) => report({ id: m.id, type: "output", stream: "stderr", base64: chunk.toString("base64") }));
  child.once("close", (code, signal) => {
    if (pid !== undefined) running.delete(pid);
    report({ id: m.id, type: "closed", code, signal });
  });
});
