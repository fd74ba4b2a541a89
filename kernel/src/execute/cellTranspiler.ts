import { ts, type TS } from "./typescript.js";
import { toScript } from "./topLevelTransform.js";
import { KERNEL_GLOBAL } from "./kernelGlobalName.js";
import type { CellDiagnostic } from "./cellDiagnostic.js";
import type { IsCompleteStatus, TranspileReply } from "./compilerMessages.js";

const TRANSPILE_OPTIONS: TS.CompilerOptions = {
  target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true,
  sourceMap: true, moduleDetection: ts.ModuleDetectionKind.Force, esModuleInterop: true,
  useDefineForClassFields: true,
};

/**
 * Turns a cell into the global-scope script the kernel runs: TypeScript's transpile (no types
 * needed, so it runs in its own thread while the compiler thread checks the same cell) and the
 * top-level transform. Also answers is_complete, which needs only the parser.
 */
export class CellTranspiler {
  readonly #cache = new Map<string, TranspileReply>();

  transpile(code: string): TranspileReply {
    const hit = this.#cache.get(code);
    if (hit) return hit;
    const out = ts.transpileModule(code, { compilerOptions: TRANSPILE_OPTIONS, fileName: "cell.ts", reportDiagnostics: true });
    const lines = code.split("\n");
    const syntax = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error).map((d): CellDiagnostic => {
      const lc = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : { line: 0, character: 0 };
      return { line: lc.line + 1, column: lc.character + 1, code: d.code, message: ts.flattenDiagnosticMessageText(d.messageText, "\n"), category: "error", sourceLine: lines[lc.line] ?? "" };
    });
    const js = out.outputText.replace(/\/\/# sourceMappingURL=.*$/m, "");
    const script = syntax.length > 0 ? { code: "", hasResult: false } : toScript(js, `${KERNEL_GLOBAL}.import`);
    const r: TranspileReply = { syntax, code: script.code, sourceMap: out.sourceMapText ?? "", hasResult: script.hasResult };
    if (this.#cache.size > 2000) this.#cache.clear();
    this.#cache.set(code, r);
    return r;
  }

  isComplete(code: string): IsCompleteStatus {
    if (code.trimStart().startsWith("%")) return { status: "complete" };
    const out = ts.transpileModule(code, { compilerOptions: TRANSPILE_OPTIONS, reportDiagnostics: true });
    const errors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
    if (errors.length === 0) return { status: "complete" };
    const trimmedEnd = code.trimEnd().length;
    // An error at the very end (a missing brace, an open string) means the user is still typing.
    const atEnd = errors.every((d) => (d.start ?? 0) >= trimmedEnd || d.code === 1160 || d.code === 1002);
    if (atEnd) {
      const lastLine = code.split("\n").pop() ?? "";
      const indent = /^\s*/.exec(lastLine)?.[0] ?? "";
      return { status: "incomplete", indent: /[{([]\s*$/.test(code) ? `${indent}  ` : indent };
    }
    return { status: "invalid" };
  }
}
