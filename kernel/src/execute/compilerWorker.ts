/**
 * The compiler thread: loading TypeScript and its libraries takes a second, so it happens here,
 * off the main thread, while the kernel already answers kernel_info.
 */
import { parentPort, workerData } from "node:worker_threads";
import { CellCompiler } from "./cellCompiler.js";
import type { FromCompiler, ToCompiler } from "./compilerMessages.js";
import { unreachable } from "../unreachable.js";
import { log } from "../log.js";
import { saveCompileCache } from "./typescript.js";

const port = parentPort;
if (!port) throw new Error("compilerWorker must run as a worker thread");
const compiler = new CellCompiler((workerData as { dir: string }).dir);

function handle(m: ToCompiler): unknown {
  switch (m.kind) {
    case "compile": return compiler.compile(m.args.index, m.args.code, m.args.mode);
    case "complete": return compiler.complete(m.args.code, m.args.pos);
    case "inspect": return compiler.inspect(m.args.code, m.args.pos) ?? null;
    case "isComplete": return compiler.isComplete(m.args.code);
    case "saveCache": saveCompileCache(); return null;
    default: return unreachable(m);
  }
}

// Before the first message is taken: a compile that arrives meanwhile waits for the warm-up
// instead of being answered first and then queued behind it (a setImmediate lost that race).
try { compiler.warm(); saveCompileCache(); } catch (e) { log("compiler", `warm-up failed: ${String(e)}`); }

port.on("message", (m: ToCompiler) => {
  let out: FromCompiler;
  try { out = { id: m.id, ok: true, reply: handle(m) }; }
  catch (e) { out = { id: m.id, ok: false, error: e instanceof Error ? e.stack ?? e.message : String(e) }; }
  port.postMessage(out);
});
