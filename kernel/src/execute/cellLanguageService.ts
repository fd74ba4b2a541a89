import { ts, type TS } from "./typescript.js";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { HEADER_LINES } from "./typeView.js";
import { KERNEL_GLOBALS_DTS, NOTEBOOK_PIPELINE_DTS, NOTEBOOK_PIPELINE_STANDIN_DTS, namesNotebookPipeline } from "./kernelGlobals.js";
import type { CellDiagnostic } from "./cellDiagnostic.js";
import { combinedNodeTypes, isCombinedModuleName } from "./combinedNodeTypes.js";

/**
 * One TypeScript language service over the notebook's virtual cell files. The root file is always
 * the same (`__pipebook_current.mts`), so each new program reuses the previous one's structure and
 * parsed library files; only the changed cell is parsed again.
 */
export class CellLanguageService {
  readonly #files = new Map<string, { text: string; version: number }>();
  readonly #snapshots = new Map<string, TS.IScriptSnapshot | undefined>();
  readonly #service: TS.LanguageService;
  readonly #options: TS.CompilerOptions;
  readonly #resolutionCache: TS.ModuleResolutionCache;
  readonly #typeReferenceCache: TS.TypeReferenceDirectiveResolutionCache;
  /** @types/node's index.d.ts, and the one file that stands in for the package (see combinedNodeTypes). */
  readonly #nodeTypes: { index: string; combined: string; ambientPackages: ReadonlySet<string> } | undefined;
  readonly current: string;
  readonly #globals: string;
  readonly #libFile: string | undefined;
  /** Whether the globals declare notebookPipeline with pipebook's type (see NOTEBOOK_PIPELINE_DTS). */
  #pipelineTyped = false;
  #pipelineHolder: TS.LanguageService | undefined;

  constructor(readonly dir: string) {
    this.current = `${dir}/__pipebook_current.mts`;
    this.#files.set(this.current, { text: "export {};\n", version: 0 });
    this.#globals = `${dir}/__pipebook_globals.d.ts`;
    this.#files.set(this.#globals, { text: KERNEL_GLOBALS_DTS + NOTEBOOK_PIPELINE_STANDIN_DTS, version: 0 });
    const options = compilerOptions(dir);
    // The default library as one file: see combinedDefaultLib.
    const lib = combinedDefaultLib(options);
    this.#libFile = lib === undefined ? undefined : `${dir}/__pipebook_lib.d.ts`;
    if (this.#libFile !== undefined) this.#files.set(this.#libFile, { text: lib!, version: 0 });
    this.#options = lib === undefined ? options : { ...options, noLib: true };
    this.#resolutionCache = ts.createModuleResolutionCache(dir, (f) => f, this.#options);
    this.#typeReferenceCache = ts.createTypeReferenceDirectiveResolutionCache(dir, (f) => f, this.#options, this.#resolutionCache.getPackageJsonInfoCache());
    const resolutionHost: TS.ModuleResolutionHost = {
      fileExists: (f) => this.#files.has(f) || ts.sys.fileExists(f),
      readFile: (f) => this.#files.get(f)?.text ?? ts.sys.readFile(f),
      directoryExists: (d) => ts.sys.directoryExists(d),
      realpath: (p) => ts.sys.realpath?.(p) ?? p,
      getCurrentDirectory: () => dir,
      getDirectories: (d) => ts.sys.getDirectories(d),
    };
    this.#nodeTypes = this.#combineNodeTypes(resolutionHost);
    // getModuleResolutionCache is read by the language service although its host type omits it.
    const host = (roots: () => string[]): TS.LanguageServiceHost & { getModuleResolutionCache(): TS.ModuleResolutionCache } => ({
      getScriptFileNames: () => (this.#libFile === undefined ? roots() : [this.#libFile, ...roots()]),
      getScriptVersion: (f) => String(this.#files.get(f)?.version ?? 0),
      getScriptSnapshot: (f) => {
        const v = this.#files.get(f);
        if (v) return ts.ScriptSnapshot.fromString(v.text);
        if (!this.#snapshots.has(f)) {
          const t = ts.sys.readFile(f);
          this.#snapshots.set(f, t === undefined ? undefined : ts.ScriptSnapshot.fromString(t));
        }
        return this.#snapshots.get(f);
      },
      getCurrentDirectory: () => dir,
      getCompilationSettings: () => this.#options,
      getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
      fileExists: (f) => this.#files.has(f) || ts.sys.fileExists(f),
      readFile: (f) => this.#files.get(f)?.text ?? ts.sys.readFile(f),
      readDirectory: (p, e, x, i, d) => ts.sys.readDirectory(p, e, x, i, d),
      directoryExists: (d) => ts.sys.directoryExists(d),
      getDirectories: (d) => ts.sys.getDirectories(d),
      realpath: (p) => ts.sys.realpath?.(p) ?? p,
      // One module-resolution cache across programs: without it every new program looks up the
      // package.json scope of each library file again (most of a cell's check time).
      getModuleResolutionCache: () => this.#resolutionCache,
      resolveModuleNameLiterals: (literals, containingFile, redirected, options, containingSourceFile) =>
        literals.map((lit) => this.#isAmbientInCombined(lit.text, containingFile) ? { resolvedModule: undefined } : ts.resolveModuleName(lit.text, containingFile, options, resolutionHost, this.#resolutionCache, redirected,
          ts.getModeForUsageLocation(containingSourceFile, lit, options))),
      resolveTypeReferenceDirectiveReferences: (refs, containingFile, redirected, options, containingSourceFile) =>
        refs.map((ref) => this.#resolveTypeReference(ref, containingFile, redirected, options, containingSourceFile, resolutionHost)),
    });
    const registry = ts.createDocumentRegistry();
    this.#service = ts.createLanguageService(host(() => [this.current, this.#globals]), registry);
    const pipelineTypes = `${dir}/__pipebook_pipeline_types.d.ts`;
    this.#files.set(pipelineTypes, { text: NOTEBOOK_PIPELINE_DTS, version: 0 });
    this.#pipelineHolder = ts.createLanguageService(host(() => [pipelineTypes]), registry);
  }

  /** Reads @types/node as one file, where the options' `node` type reference finds it (see combinedNodeTypes). */
  #combineNodeTypes(host: TS.ModuleResolutionHost): { index: string; combined: string; ambientPackages: ReadonlySet<string> } | undefined {
    // Not when a tsconfig.json leaves Node's types out (a package could still name them: read as files then).
    if (this.#options.types !== undefined && !this.#options.types.includes("node")) return undefined;
    const index = ts.resolveTypeReferenceDirective("node", `${this.dir}/__inferred type names__.ts`, this.#options, host, undefined, this.#typeReferenceCache)
      .resolvedTypeReferenceDirective?.resolvedFileName;
    let types: ReturnType<typeof combinedNodeTypes>;
    try { types = index === undefined ? undefined : combinedNodeTypes(index, this.#options); } catch { types = undefined; }
    if (index === undefined || types === undefined) return undefined;
    // Named as if it lay in the package's folder, so its other imports resolve from there as before.
    const combined = `${dirname(index)}/__pipebook_combined.d.ts`;
    this.#files.set(combined, { text: types.text, version: 0 });
    return { index, combined, ambientPackages: types.ambientPackages };
  }

  /** An import of the combined @types/node file that names a package it declares itself. */
  #isAmbientInCombined(specifier: string, containingFile: string): boolean {
    if (containingFile !== this.#nodeTypes?.combined) return false;
    const pkg = specifier.split("/")[0]!;
    return this.#nodeTypes.ambientPackages.has(pkg);
  }

  /** A type reference as TypeScript resolves it, except that @types/node is its combined file. */
  #resolveTypeReference(ref: TS.FileReference | string, containingFile: string, redirected: TS.ResolvedProjectReference | undefined,
    options: TS.CompilerOptions, containingSourceFile: TS.SourceFile | undefined, host: TS.ModuleResolutionHost): TS.ResolvedTypeReferenceDirectiveWithFailedLookupLocations {
    const name = typeof ref === "string" ? ref : ref.fileName.toLowerCase();
    const r = ts.resolveTypeReferenceDirective(name, containingFile, options, host, redirected, this.#typeReferenceCache,
      ts.getModeForFileReference(ref, containingSourceFile?.impliedNodeFormat));
    const found = r.resolvedTypeReferenceDirective;
    if (!this.#nodeTypes || found?.resolvedFileName !== this.#nodeTypes.index) return r;
    return { ...r, resolvedTypeReferenceDirective: { ...found, resolvedFileName: this.#nodeTypes.combined, packageId: undefined } };
  }

  /**
   * Parses and binds the files of pipebook's Pipeline type in a second language service that
   * shares the document registry, and keeps them there: the first cell that names
   * notebookPipeline then takes them from the registry instead of reading ~180 files (seconds on
   * a busy machine). Called in the compiler thread's warm-up; let go once the cells' own program
   * holds them.
   */
  preloadPipelineTypes(): void {
    this.#pipelineHolder?.getProgram()?.getTypeChecker();
  }

  #releasePipelineHolder(): void {
    if (!this.#pipelineTyped || !this.#pipelineHolder) return;
    this.#pipelineHolder.dispose();
    this.#pipelineHolder = undefined;
  }

  setFile(file: string, text: string): void {
    // Sticky: a later cell may use what this one got from notebookPipeline().
    if (!this.#pipelineTyped && namesNotebookPipeline(text)) {
      this.#pipelineTyped = true;
      this.setFile(this.#globals, KERNEL_GLOBALS_DTS + NOTEBOOK_PIPELINE_DTS);
    }
    const old = this.#files.get(file);
    if (old?.text === text) return;
    this.#files.set(file, { text, version: (old?.version ?? 0) + 1 });
  }

  /**
   * Forgets cached module resolutions, so a package installed meanwhile is found. The compiler
   * calls it for cells that import something; cells that do not reuse the cache.
   */
  forgetResolutions(): void { this.#resolutionCache.clear(); this.#typeReferenceCache.clear(); }

  /** Diagnostics of `view` (checked as the current file), placed in the cell's own lines. */
  diagnose(view: string, code: string, semantic: boolean): CellDiagnostic[] {
    this.setFile(this.current, view);
    const raw = [
      ...this.#service.getSyntacticDiagnostics(this.current),
      ...(semantic ? this.#service.getSemanticDiagnostics(this.current) : []),
    ];
    const sf = this.#service.getProgram()?.getSourceFile(this.current);
    this.#releasePipelineHolder();
    const codeLines = code.split("\n");
    const out: CellDiagnostic[] = [];
    for (const d of raw) {
      if (d.start === undefined || !sf) continue;
      const { line, character } = sf.getLineAndCharacterOfPosition(d.start);
      const cellLine = line - HEADER_LINES;
      // The header and footer are ours; a problem there is a consequence of one in the cell.
      if (cellLine < 0 || cellLine >= codeLines.length) continue;
      out.push({
        line: cellLine + 1, column: character + 1, code: d.code,
        message: ts.flattenDiagnosticMessageText(d.messageText, "\n"),
        category: categoryName(d.category), sourceLine: codeLines[cellLine] ?? "",
      });
    }
    return out;
  }

  /** The files of the current cell's program (what a new cell's check has to take in). */
  programFiles(): string[] { return this.#service.getProgram()?.getSourceFiles().map((f) => f.fileName) ?? []; }

  completions(view: string, pos: number): { name: string; kind: string; sortText: string; span?: { start: number; length: number } }[] {
    this.setFile(this.current, view);
    const r = this.#service.getCompletionsAtPosition(this.current, pos, {
      includeCompletionsWithInsertText: true, includeExternalModuleExports: false,
    });
    this.#releasePipelineHolder();
    if (!r) return [];
    const span = r.optionalReplacementSpan;
    return r.entries
      .filter((e) => !e.name.startsWith("__pipebook") && e.name !== "__pb" && !isCombinedModuleName(e.name))
      .map((e) => ({ name: e.name, kind: e.kind, sortText: e.sortText, ...(e.replacementSpan ? { span: e.replacementSpan } : span ? { span } : {}) }));
  }

  quickInfo(view: string, pos: number): { signature: string; documentation: string } | undefined {
    this.setFile(this.current, view);
    const at = (p: number) => this.#service.getQuickInfoAtPosition(this.current, p);
    const info = at(pos) ?? (pos > 0 ? at(pos - 1) : undefined);
    this.#releasePipelineHolder();
    if (!info) return undefined;
    // Names from earlier cells reach this one as imports of the type view: show them as declared.
    const signature = ts.displayPartsToString(info.displayParts).replace(/^\(alias\) /, "").replace(/\nimport [\w$]+$/, "");
    const tags = (info.tags ?? []).map((t) => `@${t.name} ${ts.displayPartsToString(t.text)}`);
    const documentation = [ts.displayPartsToString(info.documentation), ...tags].filter((s) => s.length > 0).join("\n");
    return { signature, documentation };
  }
}

/**
 * When the notebook's folder cannot resolve `pipebook`, type it from the kernel's own copy, the
 * one the runtime falls back to (see moduleLoader).
 */
function preloadedPaths(dir: string): TS.MapLike<string[]> | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (ts.sys.fileExists(`${d}/node_modules/pipebook/package.json`)) return undefined;
    if (dirname(d) === d) break;
  }
  try {
    const dist = dirname(fileURLToPath(import.meta.resolve("pipebook")));
    return { "pipebook": [`${dist}/index.d.ts`], "pipebook/contract": [`${dist}/contract/index.d.ts`] };
  } catch {
    return undefined;
  }
}

/**
 * The default library files the options name (`lib`, else the target's), with the files their
 * `/// <reference lib>` lines pull in, as one declaration file, checked with `noLib`. Every new
 * cell is a new program, and a new program's checker merges the global declarations of every
 * file into one table, cloning each symbol declared in several (Array, Promise, … across the
 * es20xx files): with one file they are merged once, when it is bound, and a distinct cell's
 * check costs about half (bench `distinct_p50_ms`). The declarations, option names and messages
 * are those of the library files. Undefined where the options say noLib or a file is missing.
 */
function combinedDefaultLib(options: TS.CompilerOptions): string | undefined {
  if (options.noLib) return undefined;
  const libDir = dirname(ts.getDefaultLibFilePath(options));
  const roots = options.lib ?? [ts.getDefaultLibFileName(options)];
  const seen = new Set<string>();
  const texts: string[] = [];
  const add = (file: string): boolean => {
    if (seen.has(file)) return true;
    seen.add(file);
    const text = ts.sys.readFile(`${libDir}/${file}`);
    if (text === undefined) return false;
    for (const m of text.matchAll(/^\/\/\/\s*<reference\s+lib="([^"]+)"\s*\/>/gm)) {
      if (!add(`lib.${m[1]!.toLowerCase()}.d.ts`)) return false;
    }
    texts.push(text.replace(/^\/\/\/\s*<reference\s+(lib|no-default-lib)=[^\n]*$/gm, ""));
    return true;
  };
  return roots.every((r) => add(r.replace(/^.*\//, ""))) ? texts.join("\n") : undefined;
}

function categoryName(c: TS.DiagnosticCategory): CellDiagnostic["category"] {
  switch (c) {
    case ts.DiagnosticCategory.Error: return "error";
    case ts.DiagnosticCategory.Warning: return "warning";
    case ts.DiagnosticCategory.Suggestion: return "suggestion";
    case ts.DiagnosticCategory.Message: return "message";
  }
}

/**
 * Notebook defaults: strict, ES2023, Node types (from the notebook's folder if it has them, else
 * the kernel's own), Node's ESM resolution. A tsconfig.json found from the notebook's folder may
 * override the checking options, but not the ones the cell machinery relies on.
 */
function compilerOptions(dir: string): TS.CompilerOptions {
  const base: TS.CompilerOptions = {
    target: ts.ScriptTarget.ES2022, strict: true, skipLibCheck: true, esModuleInterop: true,
    resolveJsonModule: true, allowImportingTsExtensions: true, lib: ["lib.es2023.d.ts"], types: ["node"],
  };
  let user: TS.CompilerOptions = {};
  const cfg = ts.findConfigFile(dir, (f) => ts.sys.fileExists(f));
  if (cfg) {
    const read = ts.readConfigFile(cfg, (f) => ts.sys.readFile(f));
    if (!read.error) user = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(cfg)).options;
  }
  const typeRoots: string[] = [];
  try {
    const req = createRequire(import.meta.url);
    typeRoots.push(dirname(dirname(req.resolve("@types/node/package.json"))));
  } catch { /* no @types/node next to the kernel: the notebook's own node_modules may have it */ }
  const merged: TS.CompilerOptions = { ...base, ...user };
  const paths = user.paths ?? preloadedPaths(dir);
  return {
    ...merged,
    ...(user.typeRoots ? {} : typeRoots.length > 0 ? { typeRoots: [...typeRoots, `${dir}/node_modules/@types`] } : {}),
    ...(paths ? { paths } : {}),
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    moduleDetection: ts.ModuleDetectionKind.Force, noEmit: true, isolatedModules: false,
    verbatimModuleSyntax: false, declaration: false, composite: false, incremental: false,
    allowImportingTsExtensions: true, noUnusedLocals: false, noUnusedParameters: false,
  };
}
