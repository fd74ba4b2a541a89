#!/usr/bin/env node
/**
 * Bundles the CLI into two CommonJS files, from what tsc emitted, which engine/bin/pipebook.js
 * (CommonJS too: engine/bin/package.json) loads:
 *
 * - dist/cli/main.bundle.cjs: the grammar (cli/main.js, lazyAction.js and the command groups'
 *   register modules) with commander. Every command's action and the engine stay their own files
 *   in dist/, imported (`import()`) by the same relative path as before when a command runs:
 *   there is one copy of each, so a pipeline file's `import "pipebook"` and the kernel get the
 *   instances the CLI uses, and their stack frames name the same dist/*.js files they always did.
 * - dist/cli/inspect.bundle.cjs: `pipebook runs`, `show`, `logs` and `why` (cli/inspectCommands.js)
 *   with everything their local side loads (the store, orphan recovery, the formatting,
 *   better-sqlite3's JavaScript), each module evaluated when first imported. The remote side (the
 *   REST client, REMOTE_SIDE) is imported by path when a project names a server. A local command
 *   thus loads no module of dist/ by path: nothing can be loaded twice.
 *
 * Why: what these commands pay before they answer was, besides starting Node, mostly loading
 * modules. Commander alone is 9 CommonJS files, and its `require("node:child_process")` loads
 * child_process, net, dgram and streams (10-25 ms here) for the one place it starts a process
 * (external subcommands, which pipebook has none of): in the bundles child_process loads on first
 * use. runs/show/logs/why loaded ~20 ES modules one by one (a resolve, an asynchronous read and a
 * compile each) and better-sqlite3's 14 CommonJS files. And an ES module anywhere starts Node's ES
 * module loader, which loads ~40 modules of Node's own (the loader, fs/promises, readline, streams)
 * before the first line of ours: with a CommonJS bin and bundles, `--help` and a local `runs`
 * never start it (docs/startup.md has the figures).
 *
 * CommonJS cannot `require` an ES module (not on every Node 20), so the grammar bundle has no
 * static import of a dist/ module it does not inline: the build refuses one.
 *
 * The bundles are a cache of the files they were built from: main.bundle.json records each input's
 * size, mtime and SHA-256 (both bundles'), and the bin takes the bundles only while they all still
 * have that content (a plain `tsc -b` after a CLI edit makes it fall back to dist/cli/main.js and
 * the separate files, never to stale code; one that wrote the same files again does not). `npm run build`, `npm test`, `npm start` and `npm run bench` run this
 * (through buildPage.mjs).
 */
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const engine = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(engine, "dist");
const cliDir = path.join(dist, "cli");
export const CLI_BUNDLE = path.join(cliDir, "main.bundle.cjs");
export const INSPECT_BUNDLE = path.join(cliDir, "inspect.bundle.cjs");
export const CLI_BUNDLE_MANIFEST = path.join(cliDir, "main.bundle.json");

/**
 * The modules of dist/cli/ that go into the grammar bundle: what `pipebook --help` runs. A module
 * not named here is imported from its own file, which is always correct, only not bundled.
 * These must not be imported by anything outside the bundle (they would load twice).
 */
const GRAMMAR = new Set(["main.js", "lazyAction.js", "datasetCommands.js", "moduleCommands.js", "integrationCommands.js", "agentCommands.js", "publishingCommands.js"]);
/** Packages bundled with the grammar; every other package stays external. */
const BUNDLED_PACKAGES = new Set(["commander"]);

/** runs/show/logs/why: the entry of inspect.bundle.cjs, which the grammar loads in its place. */
const INSPECT_ENTRY = path.join(cliDir, "inspectCommands.js");
/** Packages bundled into the inspect bundle (its CommonJS files were most of a store open's load). */
const INSPECT_PACKAGES = new Set(["better-sqlite3"]);
/**
 * The remote side of runs/show/logs/why (a project that names a server), left out of the inspect
 * bundle and imported by path when it is taken: the REST client and its schemas are half the
 * bundle, and compiling them cost a local `runs` ~8 ms. Nothing the bundle evaluates before it
 * knows which side it takes (inspectCommands.js and what it imports statically: projectServer.js,
 * locateWorkspace.js) may be imported by these, and only those modules may import them: the
 * build checks both. The local side, evaluated only when there is no server, may share modules
 * with them (the formatting, the failure classes): in one process only one side loads.
 */
const REMOTE_SIDE = new Set(["cli/remoteCommands.js", "remote/remoteConfig.js"].map((m) => path.join(dist, m)));

/**
 * Modules of dist/ that either bundle may hold a copy of besides the file other modules import:
 * they are made to work as copies, having no class, no state and no symbol of their own.
 * contract/expectedFailure.js marks expected failures with a registered symbol "whichever copy of
 * pipebook threw them" (the grammar's error handler asks it); auth/scopes.js is a constant list
 * (the grammar prints it in `token create`'s help) and two pure functions; cli/writeStdout.js is
 * one function, which the help and runs/show/logs/why print with.
 */
const COPYABLE = new Set(["contract/expectedFailure.js", "auth/scopes.js", "cli/writeStdout.js"].map((m) => path.join(dist, m)));

/**
 * Modules that may use `import.meta` inside a bundle, where it names the bundle's file: they only
 * resolve packages from it, which finds the same node_modules from dist/cli/ (openDatabase the
 * SQLite addon; integrationCommands the extension's package.json, through import.meta.resolve,
 * which in a bundle resolves as require does: a package whose exports differ for require would
 * need another look). Any other module that reads import.meta (a file beside itself, say) fails
 * the build rather than look in the wrong folder.
 */
const IMPORT_META_OK = new Set(["store/openDatabase.js", "cli/integrationCommands.js"].map((m) => path.join(dist, m)));

/**
 * openDatabase.js requires better-sqlite3 through createRequire (docs/startup.md: no CommonJS
 * export lexer), which esbuild does not follow; in the inspect bundle that call becomes a plain
 * require, which it does. The build fails if the call is not there as written.
 */
const BETTER_SQLITE3_REQUIRE = 'createRequire(import.meta.url)("better-sqlite3")';

/** child_process, each export read from the real module on first use. */
async function lazyChildProcess() {
  const names = Object.keys(await import("node:child_process")).filter((n) => n !== "default");
  return `const load = () => require("node:child_process");\nmodule.exports = {\n${names.map((n) => `  get ${n}() { return load().${n}; },`).join("\n")}\n};\n`;
}

/**
 * The dist/ modules outside the grammar bundle that import a grammar module: each would load a
 * second copy of it beside the bundle's. Their specifiers are as tsc emitted them (`./x.js`, `../cli/x.js`).
 */
function grammarImportersOutside() {
  const found = [];
  for (const rel of readdirSync(dist, { recursive: true })) {
    if (!rel.endsWith(".js")) continue;
    const file = path.join(dist, rel);
    if (path.dirname(file) === cliDir && GRAMMAR.has(path.basename(file))) continue;
    for (const m of readFileSync(file, "utf8").matchAll(/(?:from\s*|import\s*\(\s*)["'](\.{1,2}\/[^"']+)["']/g)) {
      const target = path.resolve(path.dirname(file), m[1]);
      if (path.dirname(target) === cliDir && GRAMMAR.has(path.basename(target))) found.push(`${path.relative(engine, file)} imports ${m[1]}`);
    }
  }
  return found;
}

/** The relative imports of a dist/ module, as absolute paths: `from "./x.js"` (static) and `import("./x.js")` (dynamic). */
function importsOf(file) {
  const text = readFileSync(file, "utf8");
  const found = (re) => [...text.matchAll(re)].map((m) => path.resolve(path.dirname(file), m[1]));
  return {
    static: found(/(?:\bfrom\s*|^import\s*)["'](\.{1,2}\/[^"']+)["']/gm),
    dynamic: found(/\bimport\s*\(\s*["'](\.{1,2}\/[^"']+)["']/g),
  };
}

/** `files` and every dist/ module they import, statically only or also dynamically. */
function closure(files, { dynamic }) {
  const seen = new Set();
  const todo = [...files];
  while (todo.length > 0) {
    const file = todo.pop();
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const imports = importsOf(file);
    todo.push(...imports.static, ...(dynamic ? imports.dynamic : []));
  }
  return seen;
}

/** The specifier of dist/ module `target` from dist/cli/, where the bundles are. */
function fromCliDir(target) {
  const rel = path.relative(cliDir, target).split(path.sep).join("/");
  return rel.startsWith(".") ? rel : `./${rel}`;
}

/** What both bundles share: CommonJS for Node 20, `import.meta` made of the bundle's own file name. */
const COMMON = {
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  define: { "import.meta.url": "__pipebookImportMetaUrl", "import.meta.resolve": "__pipebookImportMetaResolve" },
  banner: {
    js: [
      '"use strict";',
      'const __pipebookImportMetaUrl = require("node:url").pathToFileURL(__filename).href;',
      'const __pipebookImportMetaResolve = (specifier) => require("node:url").pathToFileURL(require.resolve(specifier)).href;',
    ].join("\n"),
  },
  // Frames map back to src/**/*.ts (through tsc's maps) with --enable-source-maps.
  sourcemap: "linked",
  sourcesContent: false,
  legalComments: "none",
  logLevel: "warning",
  metafile: true,
  absWorkingDir: engine,
};

/** Builtins and the packages not in `bundled` stay external: required where the module that imports them is evaluated. */
function externalPackages(b, bundled) {
  b.onResolve({ filter: /^[^./]/ }, (a) => {
    if (a.path.startsWith("node:")) return { path: a.path, external: true };
    const pkg = a.path.startsWith("@") ? a.path.split("/").slice(0, 2).join("/") : a.path.split("/")[0];
    return bundled.has(pkg) ? undefined : { path: a.path, external: true };
  });
}

/** child_process loaded on first use. */
function lazyChildProcessModule(b, contents) {
  b.onResolve({ filter: /^(node:)?child_process$/ }, () => ({ path: "child_process", namespace: "lazy-builtin" }));
  b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, () => ({ contents, loader: "js", resolveDir: cliDir }));
}

/** The dist/ files a build inlined, as absolute paths. */
function distInputs(result) {
  return Object.keys(result.metafile.inputs).filter((p) => !p.includes(":")).map((p) => path.resolve(engine, p)).filter((p) => p.startsWith(dist + path.sep));
}

/**
 * The files a build read, relative to dist/cli/, with their size, mtime and SHA-256: the bin
 * compares sizes and mtimes, and hashes only a file whose mtime moved (a `tsc -b` writes files
 * again with the same content).
 */
function manifestOf(result) {
  return Object.keys(result.metafile.inputs).filter((p) => !p.includes(":")).map((p) => {
    const abs = path.resolve(engine, p);
    const st = statSync(abs);
    return [path.relative(cliDir, abs), [st.size, st.mtimeMs, createHash("sha256").update(readFileSync(abs)).digest("hex")]];
  });
}

/** Inlined modules that read import.meta without being allowed to (see IMPORT_META_OK). */
function importMetaReaders(result) {
  return distInputs(result).filter((f) => !IMPORT_META_OK.has(f) && readFileSync(f, "utf8").includes("import.meta"));
}

export async function buildCli() {
  const outside = grammarImportersOutside();
  if (outside.length > 0) throw new Error(`the CLI bundle's grammar modules are imported from outside it (they would load twice): ${outside.join("; ")}`);
  // Until both bundles and their manifest are written, the bin takes the separate files.
  rmSync(CLI_BUNDLE_MANIFEST, { force: true });
  const lazyCp = await lazyChildProcess();
  const requiredByPath = [];
  const main = await build({
    ...COMMON,
    entryPoints: [path.join(cliDir, "main.js")],
    outfile: CLI_BUNDLE,
    plugins: [
      {
        name: "pipebook-cli",
        setup(b) {
          lazyChildProcessModule(b, lazyCp);
          // runs/show/logs/why: the inspect bundle, required when one of them runs.
          b.onResolve({ filter: /^\.\.?\// }, (a) => (a.namespace === "file" && path.resolve(a.resolveDir, a.path) === INSPECT_ENTRY ? { path: "inspect", namespace: "inspect-bundle" } : undefined));
          b.onLoad({ filter: /.*/, namespace: "inspect-bundle" }, () => ({ contents: `module.exports = require("./${path.basename(INSPECT_BUNDLE)}");\n`, loader: "js", resolveDir: cliDir }));
          b.onResolve({ filter: /^\.\.?\// }, (a) => {
            if (a.namespace === "inspect-bundle") return { path: a.path, external: true };
            if (a.namespace !== "file" || a.importer.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
            const target = path.resolve(a.resolveDir, a.path);
            if ((path.dirname(target) === cliDir && GRAMMAR.has(path.basename(target))) || COPYABLE.has(target)) return undefined;
            if (path.dirname(a.importer) !== cliDir) throw new Error(`${a.importer} imports ${a.path}: only dist/cli/ modules can import outside the bundle`);
            // The bundle sits in dist/cli/ beside the grammar, so the specifier as written still
            // points at the right file. Only import() can load an ES module from CommonJS.
            if (a.kind !== "dynamic-import") requiredByPath.push(`${path.relative(dist, a.importer)} imports ${a.path}`);
            return { path: a.path, external: true };
          });
          externalPackages(b, BUNDLED_PACKAGES);
        },
      },
    ],
  });
  if (requiredByPath.length > 0) throw new Error(`the grammar imports modules it does not bundle on load (import() them where they are used): ${requiredByPath.join("; ")}`);

  const inspect = await build({
    ...COMMON,
    entryPoints: [INSPECT_ENTRY],
    outfile: INSPECT_BUNDLE,
    plugins: [
      {
        name: "pipebook-inspect",
        setup(b) {
          lazyChildProcessModule(b, lazyCp);
          b.onResolve({ filter: /^\.\.?\// }, (a) => {
            if (a.namespace !== "file" || a.importer.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
            const target = path.resolve(a.resolveDir, a.path);
            // The bundle sits in dist/cli/: the specifier is rewritten from there.
            return REMOTE_SIDE.has(target) ? { path: fromCliDir(target), external: true } : undefined;
          });
          b.onLoad({ filter: /[\\/]dist[\\/]store[\\/]openDatabase\.js$/ }, (a) => {
            const text = readFileSync(a.path, "utf8");
            if (!text.includes(BETTER_SQLITE3_REQUIRE)) throw new Error(`${a.path} no longer has ${BETTER_SQLITE3_REQUIRE}: say in buildCli.mjs how it loads better-sqlite3`);
            return { contents: text.replace(BETTER_SQLITE3_REQUIRE, 'require("better-sqlite3")'), loader: "js" };
          });
          externalPackages(b, INSPECT_PACKAGES);
        },
      },
    ],
  });

  // One instance of every module: the inspect bundle loads no dist/ module by path but the remote
  // side, which imports nothing the bundle evaluates first and is imported only from there, and
  // the two bundles hold no module of dist/ in common but the copyable ones.
  const problems = [];
  const out = Object.values(inspect.metafile.outputs).find((o) => o.entryPoint !== undefined);
  for (const i of out.imports) {
    if (i.external && /^\.{1,2}\//.test(i.path) && !REMOTE_SIDE.has(path.resolve(cliDir, i.path))) problems.push(`the inspect bundle imports ${i.path} by path`);
  }
  const first = closure([INSPECT_ENTRY], { dynamic: false });
  for (const m of closure([...REMOTE_SIDE], { dynamic: true })) if (first.has(m)) problems.push(`the remote side imports ${path.relative(dist, m)}, which the inspect bundle evaluates first`);
  for (const [input, { imports }] of Object.entries(inspect.metafile.inputs)) {
    const importer = path.resolve(engine, input);
    for (const i of imports) if (i.external && REMOTE_SIDE.has(path.resolve(cliDir, i.path)) && !first.has(importer)) problems.push(`${path.relative(dist, importer)} imports the remote side's ${i.path}`);
  }
  const inMain = new Set(distInputs(main));
  for (const f of distInputs(inspect)) if (inMain.has(f) && !COPYABLE.has(f)) problems.push(`both bundles hold ${path.relative(dist, f)}`);
  for (const f of [...importMetaReaders(main), ...importMetaReaders(inspect)]) problems.push(`${path.relative(dist, f)} reads import.meta, which names the bundle in a bundle`);
  if (problems.length > 0) throw new Error(`the CLI bundles cannot be built as they are: ${problems.join("; ")}`);

  writeFileSync(CLI_BUNDLE_MANIFEST, `${JSON.stringify({ inputs: Object.fromEntries([...manifestOf(main), ...manifestOf(inspect)]) })}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await buildCli();
}
