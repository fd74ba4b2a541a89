import { fork, spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { unreachable } from "../errors/PipebookError.js";
import type { ExpectRequest, LaunchReport, LaunchRequest, PrepareRequest } from "./launcherProtocol.js";
import { namespacedLauncher, probeNamespace } from "./readOnlyBinds.js";
import { traceStep } from "./stepTrace.js";

/** How a launched process ended, as far as the launcher saw it. */
export type LaunchEnd =
  | { readonly type: "closed"; readonly code: number | null; readonly signal: string | null; readonly spawnError?: string }
  /** The launcher died first: the process may still run, and nothing relays its end. */
  | { readonly type: "lost"; readonly message: string };

/** What a launched process tells its owner, in order; `onEnd` is always last and comes once. */
export interface LaunchHandlers {
  /** `cgroupProblem`: the process was asked into a cgroup and runs outside it (why). */
  readonly onStarted: (pid: number, cgroupProblem?: string) => void;
  readonly onOutput: (stream: "stdout" | "stderr", chunk: Buffer) => void;
  readonly onEnd: (end: LaunchEnd) => void;
}

const LAUNCHER = fileURLToPath(new URL("./launcherProcess.js", import.meta.url));

/**
 * Starts step processes through one long-lived launcher process (launcherProcess.ts) instead of
 * forking this one. fork() copies the caller's page tables: from a process holding 400 MB a step
 * cost 29 ms against 6 ms through the launcher (bench `chain50Holding400MB`), and it blocks the
 * caller's event loop while it runs (a kernel's comms, a server's requests). The launcher is started on first use, holds
 * this process open only while processes it started are running, and is started again if it dies.
 */
export class StepLauncher {
  private static instance: StepLauncher | undefined;
  private child: ChildProcess | undefined;
  private nextId = 0;
  private readonly active = new Map<number, LaunchHandlers & { spawnError?: string }>();

  /** The launcher of this process (steps of every workspace share it). */
  static shared(): StepLauncher {
    return (StepLauncher.instance ??= new StepLauncher());
  }

  launch(request: Omit<LaunchRequest, "id" | "type">, handlers: LaunchHandlers): void {
    const child = this.ensureChild();
    const id = this.nextId++;
    this.active.set(id, { ...handlers });
    if (this.active.size === 1) setHeld(child, true);
    child.send({ type: "launch", id, ...request } satisfies LaunchRequest);
    traceStep(request.env["PIPEBOOK_STEP_RUN_ID"], "sent");
  }

  /**
   * Starts the launcher now, and has it make `views` ready, so that the first step does not wait
   * for a process to boot and for its mounts: a run whose steps will run is being submitted.
   * Like the launcher of a finished step, it never holds this process open.
   */
  warm(views: PrepareRequest["views"] | undefined): void {
    const child = this.ensureChild();
    if (views) child.send({ type: "prepare", views } satisfies PrepareRequest);
  }

  /** Has the launcher wait in `cgroup` for the step that will start there (ExpectRequest). */
  expect(cgroup: ExpectRequest["cgroup"]): void {
    this.ensureChild().send({ type: "expect", cgroup } satisfies ExpectRequest);
  }

  private ensureChild(): ChildProcess {
    if (this.child) return this.child;
    // As root, in a mount namespace of its own, where it binds steps' inputs read-only.
    const ns = namespacedLauncher();
    traceStep(undefined, "launcher-spawn");
    const child = ns
      ? spawn(ns.prefix[0]!, [...ns.prefix.slice(1), process.execPath, LAUNCHER, ns.mount], { serialization: "json", stdio: ["ignore", "ignore", "inherit", "ipc"] })
      : fork(LAUNCHER, [], { serialization: "json", stdio: ["ignore", "ignore", "inherit", "ipc"], execArgv: [] });
    child.on("message", (r: LaunchReport) => this.deliver(r));
    child.once("exit", (code, signal) => {
      if (this.child === child) this.child = undefined;
      // Processes it started may still run in their own groups, but nothing relays their end
      // any more: their owners stop them and report them failed.
      const lost = [...this.active.values()];
      this.active.clear();
      const message = `pipebook's step launcher process exited (${signal ?? `code ${code}`}) while the step ran`;
      for (const h of lost) h.onEnd({ type: "lost", message });
    });
    child.on("error", () => undefined); // An exit follows; sends to a dead launcher land here.
    setHeld(child, false);
    this.child = child;
    return child;
  }

  private deliver(r: LaunchReport): void {
    const h = this.active.get(r.id);
    if (!h) return;
    switch (r.type) {
      case "started":
        return h.onStarted(r.pid, r.cgroupProblem);
      case "output":
        return h.onOutput(r.stream, Buffer.from(r.base64, "base64"));
      case "spawn-error":
        h.spawnError = r.message;
        return;
      case "closed":
        this.active.delete(r.id);
        if (this.active.size === 0 && this.child) setHeld(this.child, false);
        return h.onEnd({ type: "closed", code: r.code, signal: r.signal, ...(h.spawnError !== undefined && { spawnError: h.spawnError }) });
      default:
        return unreachable(r);
    }
  }
}

/**
 * Starts this process's shared launcher now, without blocking: the namespace probe runs as a
 * process of its own first, then the launcher boots (Node, and `unshare` as root). `pipebook run
 * --regenerate` asks as it starts, so both happen while the pipeline file loads; on a loaded
 * two-core machine they took 150–300 ms, which the first step of a fresh run otherwise waited
 * for. A LocalCompute's warm() at submit then only sends its workspace's views. Never throws;
 * like any idle launcher, it does not hold this process open.
 */
export function warmSharedLauncher(): void {
  void probeNamespace().then(() => {
    try {
      StepLauncher.shared().warm(undefined);
    } catch {
      // Shows, with its sentence, when a step runs.
    }
  });
}

/** Whether the launcher keeps this process's event loop alive: only while steps run. */
function setHeld(child: ChildProcess, held: boolean): void {
  const channel = child.channel as { ref(): void; unref(): void } | null | undefined;
  if (held) {
    child.ref();
    channel?.ref();
  } else {
    child.unref();
    channel?.unref();
  }
}
