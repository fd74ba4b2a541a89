import type { CheckReply, CompileReply, TranspileReply } from "./compilerMessages.js";

/**
 * One cell's reply from its transpile and its check, made in whichever thread has both: syntax
 * errors first, then type errors; `accept` (the cell joins the scope) only for a cell that runs.
 */
export function compileReply(t: TranspileReply, c: CheckReply, accept: () => void): CompileReply {
  if (t.syntax.length > 0) return { status: "refused", diagnostics: t.syntax };
  if (c.status === "refused") return c;
  accept();
  return { status: "ok", code: t.code, sourceMap: t.sourceMap, hasResult: t.hasResult, diagnostics: c.diagnostics, declares: c.declares };
}
