/**
 * Kernel entry: `node --experimental-import-meta-resolve dist/main.js -f CONNECTION_FILE`.
 * The main thread runs cells; an I/O thread owns the sockets; a compiler thread owns TypeScript.
 */
import { randomUUID } from "node:crypto";
import { Kernel } from "./kernel/Kernel.js";
import { startIo } from "./transport/ioClient.js";
import { HistoryStore } from "./history/historyStore.js";
import { isTypecheckMode } from "./execute/cellDiagnostic.js";
import { log } from "./log.js";
import { RUN_STATE_BYTES, RunState } from "./execute/runState.js";

export async function runKernel(argv: readonly string[]): Promise<void> {
  const fIndex = argv.indexOf("-f");
  const connectionFile = fIndex >= 0 ? argv[fIndex + 1] : argv.find((a) => !a.startsWith("-"));
  if (!connectionFile) throw new Error("usage: pipebook-kernel -f CONNECTION_FILE");
  const session = randomUUID();
  let kernel: Kernel | undefined;
  const runState = new RunState(new SharedArrayBuffer(RUN_STATE_BYTES));
  const io = await startIo({ connectionFile, session, runState: runState.buffer }, {
    onMessage: (channel, identities, msg) => kernel?.handle(channel, identities, msg),
    onInterrupt: (request) => kernel?.interrupt(request),
    onFatal: (e) => { log("main", `transport failed: ${e}`); process.exit(1); },
  });
  const mode = process.env["PIPEBOOK_TYPECHECK"] ?? "refuse";
  kernel = new Kernel(io, {
    session, runState, dir: process.cwd(), typecheck: isTypecheckMode(mode) ? mode : "refuse", historyFile: HistoryStore.defaultFile(),
  });
  kernel.publishStarting();
  kernel.warmSoon();
  watchParent(() => { void kernel?.close().finally(() => process.exit(0)); });
  // Signal-mode interrupts (a front end that ignores interrupt_mode) stop the cell, not the kernel.
  process.on("SIGINT", () => kernel?.interrupt());
  // A terminated kernel shuts down as on shutdown_request: runs it started are canceled first.
  process.once("SIGTERM", () => { void kernel?.close().finally(() => process.exit(143)); });
  // A cell's stray promise rejection or callback exception must not take the kernel down.
  process.on("unhandledRejection", (e) => { process.stderr.write(`Unhandled promise rejection: ${e instanceof Error ? e.stack : String(e)}\n`); });
  process.on("uncaughtException", (e) => { process.stderr.write(`Uncaught exception: ${e.stack ?? String(e)}\n`); });
}

/**
 * Exits when the process that started the kernel is gone (as ipykernel's parent poller does), so a
 * crashed front end leaves no orphan kernels. Jupyter names its pid in JPY_PARENT_PID.
 */
function watchParent(onGone: () => void): void {
  const declared = Number(process.env["JPY_PARENT_PID"] ?? "");
  const parent = Number.isInteger(declared) && declared > 1 ? declared : process.ppid;
  if (parent <= 1) return;
  const timer = setInterval(() => {
    let alive = process.ppid === parent || declared > 1;
    if (alive) {
      try { process.kill(parent, 0); } catch (e) { alive = (e as NodeJS.ErrnoException).code === "EPERM"; }
    }
    if (!alive) { clearInterval(timer); log("main", `parent process ${parent} is gone; exiting`); onGone(); }
  }, 1000);
  timer.unref();
}
