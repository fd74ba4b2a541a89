/**
 * The transpiler thread: turns cells into scripts (and answers is_complete) while the compiler
 * thread type-checks the same cell; neither needs the other's work.
 */
import { parentPort } from "node:worker_threads";
import { CellTranspiler } from "./cellTranspiler.js";
import type { FromCompiler, ToTranspiler } from "./compilerMessages.js";
import { unreachable } from "../unreachable.js";
import { log } from "../log.js";

const port = parentPort;
if (!port) throw new Error("transpilerWorker must run as a worker thread");
const transpiler = new CellTranspiler();

function handle(m: ToTranspiler): unknown {
  switch (m.kind) {
    case "transpile": return transpiler.transpile(m.args.code);
    case "isComplete": return transpiler.isComplete(m.args.code);
    default: return unreachable(m);
  }
}

// A first transpile compiles TypeScript's emit path before a cell needs it.
try { transpiler.transpile("export {};\n"); } catch (e) { log("transpiler", `warm-up failed: ${String(e)}`); }

port.on("message", (m: ToTranspiler) => {
  let out: FromCompiler;
  try { out = { id: m.id, ok: true, reply: handle(m) }; }
  catch (e) { out = { id: m.id, ok: false, error: e instanceof Error ? e.stack ?? e.message : String(e) }; }
  port.postMessage(out);
});
