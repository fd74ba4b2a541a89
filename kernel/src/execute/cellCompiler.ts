import { ts } from "./typescript.js";
import { collectDeclarations, type Declaration } from "./declarations.js";
import { CellLanguageService } from "./cellLanguageService.js";
import { CellTranspiler } from "./cellTranspiler.js";
import { compileReply } from "./compileReply.js";
import { cellFileName, HEADER_LINES, Scope, viewText } from "./typeView.js";
import type { CellDiagnostic, TypecheckMode } from "./cellDiagnostic.js";
import type { CheckReply, CompileReply, CompletionResult, InspectResult, IsCompleteStatus, TranspileReply } from "./compilerMessages.js";


/**
 * 7016: a plain-JavaScript package without types. In a notebook it is simply `any`; refusing the
 * cell would make most of npm unusable without a declarations package.
 */
const IGNORED_IN_NOTEBOOKS: ReadonlySet<number> = new Set([7016]);

/**
 * Compiles cells: checks each against the cells run before it (type view), transpiles it, and turns
 * it into a global-scope script. Identical cells in an identical scope hit caches, so re-running an
 * unchanged cell costs no type-checking. The kernel checks in one thread and transpiles in another
 * at the same time (`check`, the transpiler thread, then `accept`); `compile` does all three here.
 */
export class CellCompiler {
  readonly #scope = new Scope();
  readonly #ls: CellLanguageService;
  readonly #diagCache = new Map<string, CellDiagnostic[]>();
  readonly #transpiler = new CellTranspiler();
  /** The last checked cell, until `accept` adds it to the scope. */
  #checked: { index: number; code: string; view: string; declarations: Declaration[] } | undefined;

  constructor(readonly dir: string) { this.#ls = new CellLanguageService(dir); }

  /** Warm-up for the compiler thread's idle start: a first check, then pipebook's types (see preloadPipelineTypes). */
  warm(): void {
    this.#ls.diagnose("export {};\n", "", true);
    this.#ls.preloadPipelineTypes();
  }

  compile(index: number, code: string, mode: TypecheckMode): CompileReply {
    const t = this.#transpiler.transpile(code);
    if (t.syntax.length > 0) return { status: "refused", diagnostics: t.syntax };
    const c = this.check(index, code, mode);
    return compileReply(t, c, () => this.accept(index, code));
  }

  /**
   * Type-checks a cell against the scope (syntax errors are the transpiler's to report). The cell
   * joins the scope only on `accept`, which the caller sends once the transpile found no syntax
   * error either.
   */
  check(index: number, code: string, mode: TypecheckMode): CheckReply {
    const sf = ts.createSourceFile("cell.ts", code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    const decls = collectDeclarations(sf);
    const view = viewText(this.#scope.header(new Set(decls.map((d) => d.name))), code, decls);
    this.#checked = undefined;
    let diagnostics: CellDiagnostic[] = [];
    if (mode !== "off") {
      const cached = this.#diagCache.get(view);
      if (!cached && /\b(import|require)\b/.test(code)) this.#ls.forgetResolutions();
      diagnostics = cached ?? this.#ls.diagnose(view, code, true);
      if (!cached) {
        if (this.#diagCache.size > 2000) this.#diagCache.clear();
        this.#diagCache.set(view, diagnostics);
      }
    }
    const errors = diagnostics.filter((d) => d.category === "error" && !IGNORED_IN_NOTEBOOKS.has(d.code));
    if (mode === "refuse" && errors.length > 0) return { status: "refused", diagnostics: errors };
    this.#checked = { index, code, view, declarations: decls };
    return { status: "checked", diagnostics: mode === "report" ? errors : [], declares: decls.length > 0 };
  }

  /** Adds the cell last checked to the scope (a no-op for any other cell). */
  accept(index: number, code: string): void {
    const c = this.#checked;
    if (!c || c.index !== index || c.code !== code) return;
    this.#checked = undefined;
    const file = cellFileName(this.dir, index);
    this.#ls.setFile(file, c.view);
    this.#scope.add({ index, file, declarations: c.declarations });
  }

  transpile(code: string): TranspileReply { return this.#transpiler.transpile(code); }

  #viewFor(code: string): string {
    const sf = ts.createSourceFile("cell.ts", code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    const decls = collectDeclarations(sf);
    return viewText(this.#scope.header(new Set(decls.map((d) => d.name))), code, decls);
  }

  /** Offset of the cell's character `pos` in its view (the header is one line). */
  #offset(view: string, pos: number): number {
    let at = 0;
    for (let i = 0; i < HEADER_LINES; i++) at = view.indexOf("\n", at) + 1;
    return at + pos;
  }

  complete(code: string, pos: number): CompletionResult {
    const view = this.#viewFor(code);
    const before = code.slice(0, pos);
    const word = /[\p{L}\p{N}_$]*$/u.exec(before)?.[0] ?? "";
    const start = pos - word.length;
    const entries = this.#ls.completions(view, this.#offset(view, pos))
      .filter((e) => e.name.startsWith(word))
      .sort((a, b) => a.sortText.localeCompare(b.sortText) || a.name.localeCompare(b.name));
    return { matches: entries.map((e) => e.name), start, end: pos, types: entries.map((e) => e.kind) };
  }

  inspect(code: string, pos: number): InspectResult | undefined {
    const view = this.#viewFor(code);
    return this.#ls.quickInfo(view, this.#offset(view, pos));
  }

  isComplete(code: string): IsCompleteStatus { return this.#transpiler.isComplete(code); }
}
