import { ts, type TS } from "./typescript.js";
import { dirname, relative, resolve } from "node:path";

/** @types/node as one declaration file (see combinedNodeTypes). */
export interface CombinedNodeTypes {
  readonly text: string;
  /**
   * Names the text declares as ambient modules (`pipebook:undici-types`, and paths under it): the
   * language service leaves the combined file's imports of them unresolved, so the checker takes
   * the ambient modules, without a look-up in node_modules for each.
   */
  readonly ambientPackages: ReadonlySet<string>;
}

/**
 * @types/node (the files its index.d.ts names with `/// <reference path>`, in the order a program
 * takes them in: referenced files first), with the undici-types package it imports, as the text
 * of one declaration file; undefined when something there is not of a kind this keeps the meaning
 * of (then the language service reads the packages' files as usual).
 *
 * Why: every distinct cell is a new program, and a new program costs something per file it holds
 * (the document registry's look-up, the file's implied module format and package.json scope, the
 * checker merging each global script's declarations into the global table). @types/node is 63
 * files and undici-types 38, most of a one-line cell's program; as one file those costs are paid
 * once (bench `distinct_p50_ms`). The default library is combined the same way (cellLanguageService).
 *
 * - A global script is copied as it is: its `declare module "fs"` blocks stay ambient module
 *   declarations, its other declarations stay global.
 * - A module (a top-level import or export, e.g. `export {}; declare global { … }`) is wrapped in
 *   an ambient module of its own, `declare module "pipebook:node-types/<path>" { … }`, which keeps
 *   its top-level names local and its `declare global` blocks global; nothing imports it.
 * - undici-types' files are modules that import each other by relative paths, which mean nothing
 *   in an ambient module: each becomes `declare module "pipebook:undici-types/<path>"` (the index
 *   `"pipebook:undici-types"`) with its relative specifiers rewritten to those names, and so do
 *   @types/node's imports of it.
 * - `/// <reference>` lines go: the library is the combined default one (noLib), a type
 *   reference other than `node` makes this give up.
 */
export function combinedNodeTypes(indexFile: string, options: TS.CompilerOptions): CombinedNodeTypes | undefined {
  const root = dirname(indexFile);
  const seen = new Set<string>();
  const texts: string[] = [];
  const add = (file: string): boolean => {
    if (seen.has(file)) return true;
    seen.add(file);
    const text = readDeclarations(file);
    if (text === undefined) return false;
    for (const path of text.paths) if (!add(resolve(dirname(file), path))) return false;
    if (!isModule(file, text.body)) { texts.push(text.body); return true; }
    if (relativeSpecifiers(text.body).length > 0 || augmentsModules(file, text.body)) return false;
    texts.push(ambientModule(`pipebook:node-types/${relative(root, file)}`, text.body));
    return true;
  };
  if (!add(indexFile)) return undefined;
  const ambientPackages = new Set<string>();
  const undiciSpecifier = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(["'])undici-types(\/[^"'\n]*)?\2/g;
  if (texts.some((t) => t.search(undiciSpecifier) >= 0)) {
    const entry = ts.resolveModuleName("undici-types", indexFile, options, ts.sys).resolvedModule?.resolvedFileName;
    const undici = entry === undefined ? undefined : combinedPackage(UNDICI, entry);
    if (undici === undefined) return undefined;
    for (let i = 0; i < texts.length; i++) {
      texts[i] = texts[i]!.replace(undiciSpecifier, (_whole, before: string, quote: string, sub: string | undefined) => `${before}${quote}${UNDICI}${sub ?? ""}${quote}`);
    }
    texts.push(undici);
    ambientPackages.add(UNDICI);
  }
  return { text: texts.join("\n"), ambientPackages };
}

/**
 * The ambient name undici-types gets: not the package's own, so a cell's `import … from
 * "undici-types"` still resolves (or fails to) as it would without the combined file.
 */
const UNDICI = "pipebook:undici-types";

/**
 * A module name of the combined file's own making (`pipebook:node-types/…`, `pipebook:undici-types…`):
 * not for cells to import, so completion leaves them out.
 */
export function isCombinedModuleName(name: string): boolean {
  return name.startsWith("pipebook:node-types/") || name === UNDICI || name.startsWith(`${UNDICI}/`);
}

/**
 * The declaration files of a package of modules, from its entry through their relative imports,
 * as ambient modules named `<name>/<path>` (`<name>` for the entry), or undefined if one cannot
 * be read or found.
 */
function combinedPackage(name: string, entry: string): string | undefined {
  const root = dirname(entry);
  const moduleName = (file: string): string => file === entry ? name : `${name}/${relative(root, file).replace(/\.d\.ts$/, "")}`;
  const seen = new Set<string>([entry]);
  const queue = [entry];
  const texts: string[] = [];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const text = readDeclarations(file);
    if (text === undefined || text.paths.length > 0 || augmentsModules(file, text.body)) return undefined;
    const targets = new Map<string, string>();
    for (const spec of relativeSpecifiers(text.body)) {
      const base = resolve(dirname(file), spec).replace(/\.(d\.ts|js|ts)$/, "");
      const target = [`${base}.d.ts`, `${base}/index.d.ts`].find((f) => ts.sys.fileExists(f));
      if (target === undefined || relative(root, target).startsWith("..")) return undefined;
      targets.set(spec, moduleName(target));
      if (!seen.has(target)) { seen.add(target); queue.push(target); }
    }
    const body = text.body.replace(RELATIVE_SPECIFIER, (_whole, before: string, quote: string, spec: string) =>
      `${before}${quote}${targets.get(spec) ?? spec}${quote}`);
    texts.push(ambientModule(moduleName(file), body));
  }
  return texts.join("\n");
}

/**
 * A module specifier that starts with `.`, where a declaration file names a module: after `from`,
 * `import` (a side-effect import), `import(` (a type query) or `require(`.
 */
const RELATIVE_SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(["'])(\.[^"'\n]*)\2/g;

function relativeSpecifiers(text: string): string[] {
  return [...text.matchAll(RELATIVE_SPECIFIER)].map((m) => m[3]!);
}

function ambientModule(name: string, body: string): string {
  return `declare module ${JSON.stringify(name)} {\n${body}\n}`;
}

/** A file's text without its `/// <reference>` lines, and the paths those lines name. */
function readDeclarations(file: string): { body: string; paths: string[] } | undefined {
  const text = ts.sys.readFile(file);
  if (text === undefined) return undefined;
  const paths: string[] = [];
  for (const m of text.matchAll(/^\/\/\/\s*<reference\s+(path|types)="([^"]+)"\s*\/>/gm)) {
    if (m[1] === "types" && m[2] !== "node") return undefined;
    if (m[1] === "path") paths.push(m[2]!);
  }
  return { body: text.replace(/^\/\/\/\s*<reference\s+[^\n]*$/gm, ""), paths };
}

/**
 * Whether a declaration file is a module. DefinitelyTyped's files are formatted, so a top-level
 * import or export starts a line; only files with such a line are parsed to be sure (parsing all
 * of @types/node costs a few hundred ms at start-up).
 */
function isModule(file: string, text: string): boolean {
  if (!/^(import|export)\b/m.test(text)) return false;
  return ts.isExternalModule(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false));
}

/** A module that augments another (`declare module "x"` at its top level) cannot be nested in an ambient module. */
function augmentsModules(file: string, text: string): boolean {
  if (!/^declare\s+module\s+["']/m.test(text)) return false;
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false).statements
    .some((s) => ts.isModuleDeclaration(s) && ts.isStringLiteral(s.name));
}
