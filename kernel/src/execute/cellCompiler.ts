import { ts, type TS } from "./typescript.js";
import { collectDeclarations } from "./declarations.js";
import { CellLanguageService } from "./cellLanguageService.js";
import { cellFileName, HEADER_LINES, Scope, viewText } from "./typeView.js";
import { toScript } from "./topLevelTransform.js";
import { KERNEL_GLOBAL } from "./kernelGlobalName.js";
import type { CellDiagnostic, TypecheckMode } from "./cellDiagnostic.js";
import type { CompileReply, CompletionResult, InspectResult, IsCompleteStatus } from "./compilerMessages.js";


/**
 * 7016: a plain-JavaScript package without types. In a notebook it is simply `any`; refusing the
 * cell would make most of npm unusable without a declarations package.
 */
const IGNORED_IN_NOTEBOOKS: ReadonlySet<number> = new Set([7016]);

const TRANSPILE_OPTIONS: TS.CompilerOptions = {
  target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true,
  sourceMap: true, moduleDetection: ts.ModuleDetectionKind.Force, esModuleInterop: true,
  useDefineForClassFields: true,
};

/**
 * The parts of a program that the transpile (TRANSPILE_OPTIONS: ES2022, ES modules) would rewrite:
 * TypeScript syntax (types, enums, `x!`, type arguments, `import type`, …), JSX, and what is newer
 * than ES2022 (`using`). TypeScript's parser marks each node with what its subtree contains
 * (`transformFlags`, not in the public typings), and its emit skips a subtree without these marks.
 */
const REWRITTEN: number = (() => {
  const f = (ts as unknown as { TransformFlags: Record<string, number> }).TransformFlags;
  return (f["ContainsTypeScript"] ?? 1) | (f["ContainsJsx"] ?? 2) | (f["ContainsESNext"] ?? 4);
})();

/**
 * Whether a cell is JavaScript that TypeScript's emit would only print again: parsed without a
 * syntax error, nothing in REWRITTEN, and no class (the class-field transform also handles
 * decorators and `accessor` fields; classes take the emit, to be safe). Such a cell (`0 + 1`,
 * `await f(x)`, `const y = g()`) skips transpileModule, which builds a program and a type checker of
 * its own for every cell: about a quarter of a distinct one-line cell's compile (issue 13).
 */
function isPlainJavaScript(sf: TS.SourceFile): boolean {
  const parsed = sf as TS.SourceFile & { transformFlags?: number; parseDiagnostics?: readonly TS.Diagnostic[] };
  if (parsed.transformFlags === undefined || parsed.parseDiagnostics === undefined) return false;
  if (parsed.parseDiagnostics.length > 0 || (parsed.transformFlags & REWRITTEN) !== 0) return false;
  const hasClass = (n: TS.Node): boolean => ts.isClassLike(n) || ts.forEachChild(n, hasClass) === true;
  return !hasClass(sf);
}

/**
 * Compiles cells: checks each against the cells run before it (type view), transpiles it, and turns
 * it into a global-scope script. Identical cells in an identical scope hit caches, so re-running an
 * unchanged cell costs no type-checking.
 */
export class CellCompiler {
  readonly #scope = new Scope();
  readonly #ls: CellLanguageService;
  readonly #diagCache = new Map<string, CellDiagnostic[]>();
  readonly #transpileCache = new Map<string, { js: string; map: string; syntax: CellDiagnostic[] }>();

  constructor(readonly dir: string) { this.#ls = new CellLanguageService(dir); }

  /** Warm-up for the compiler thread's idle start: a first check, then pipebook's types (see preloadPipelineTypes). */
  warm(): void {
    this.#ls.diagnose("export {};\n", "", true);
    this.#ls.preloadPipelineTypes();
  }

  compile(index: number, cell: string, mode: TypecheckMode): CompileReply {
    // A hashbang line (a script pasted whole) means nothing in a cell, which is never a file's
    // start once it runs: read as a comment of the same length, so lines and columns hold.
    const code = cell.startsWith("#!") ? `//${cell.slice(2)}` : cell;
    const sf = ts.createSourceFile("cell.ts", code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
    const t = this.#transpile(code, sf);
    if (t.syntax.length > 0) return { status: "refused", diagnostics: t.syntax };
    const decls = collectDeclarations(sf);
    const view = viewText(this.#scope.header(new Set(decls.map((d) => d.name))), code, decls);
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
    const file = cellFileName(this.dir, index);
    this.#ls.setFile(file, view);
    this.#scope.add({ index, file, declarations: decls });
    const script = toScript(t.js, `${KERNEL_GLOBAL}.import`);
    return { status: "ok", code: script.code, sourceMap: t.map, hasResult: script.hasResult, diagnostics: mode === "report" ? errors : [], declares: decls.length > 0 };
  }

  /** `sf`: the cell parsed as TypeScript (see isPlainJavaScript). */
  #transpile(code: string, sf: TS.SourceFile): { js: string; map: string; syntax: CellDiagnostic[] } {
    const hit = this.#transpileCache.get(code);
    if (hit) return hit;
    // The emit would print the same program again: the cell runs as written, and with no source
    // map a stack frame's line and column are the script's own (see CellSources.mapFrame).
    if (isPlainJavaScript(sf)) return this.#remember(code, { js: code, map: "", syntax: [] });
    const out = ts.transpileModule(code, { compilerOptions: TRANSPILE_OPTIONS, fileName: "cell.ts", reportDiagnostics: true });
    const lines = code.split("\n");
    const syntax = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error).map((d): CellDiagnostic => {
      const lc = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : { line: 0, character: 0 };
      return { line: lc.line + 1, column: lc.character + 1, code: d.code, message: ts.flattenDiagnosticMessageText(d.messageText, "\n"), category: "error", sourceLine: lines[lc.line] ?? "" };
    });
    const js = out.outputText.replace(/\/\/# sourceMappingURL=.*$/m, "");
    return this.#remember(code, { js, map: out.sourceMapText ?? "", syntax });
  }

  #remember(code: string, r: { js: string; map: string; syntax: CellDiagnostic[] }): { js: string; map: string; syntax: CellDiagnostic[] } {
    if (this.#transpileCache.size > 2000) this.#transpileCache.clear();
    this.#transpileCache.set(code, r);
    return r;
  }

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
