#!/usr/bin/env node
/**
 * Bundles the CLI's grammar (cli/main.js, lazyAction.js and the command groups' register
 * modules, as tsc emitted them) with commander into one file, dist/cli/main.bundle.js, which
 * engine/bin/pipebook.js loads. Every other module (each command's action, the engine) stays its
 * own file in dist/, imported by the same relative path as before: there is one copy of each, so
 * a pipeline file's `import "pipebook"` and the kernel get the instances the CLI uses, and their
 * stack frames name the same dist/*.js files they always did.
 *
 * Why: what every command pays before it does anything was, besides starting Node, mostly
 * loading modules: commander alone is 9 CommonJS files behind the ESM-to-CJS bridge, and its
 * `require("node:child_process")` loads child_process, net, dgram and streams (10-25 ms here)
 * for the one place it starts a process (external subcommands, which pipebook has none of).
 * In the bundle, child_process is loaded on first use, by commander and the grammar modules alike.
 *
 * The bundle is a cache of the files it was built from: beside it, main.bundle.json records each
 * input's size and mtime, and the bin uses the bundle only while they all still match (a plain
 * `tsc -b` after a CLI edit makes it fall back to dist/cli/main.js, never to stale code).
 * `npm run build`, `npm test`, `npm start` and `npm run bench` run this (through buildPage.mjs).
 */
import { build } from "esbuild";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const engine = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cliDir = path.join(engine, "dist", "cli");
export const CLI_BUNDLE = path.join(cliDir, "main.bundle.js");
export const CLI_BUNDLE_MANIFEST = path.join(cliDir, "main.bundle.json");

/**
 * The modules of dist/cli/ that go into the bundle: the grammar `pipebook --help` runs. A module
 * not named here is imported from its own file, which is always correct, only not bundled.
 * These must not be imported by anything outside the bundle (they would load twice).
 */
const GRAMMAR = new Set(["main.js", "lazyAction.js", "datasetCommands.js", "moduleCommands.js", "integrationCommands.js", "agentCommands.js", "publishingCommands.js"]);
/** Packages bundled with the grammar; every other package stays external. */
const BUNDLED_PACKAGES = new Set(["commander"]);

/** child_process, each export read from the real module on first use. */
async function lazyChildProcess() {
  const names = Object.keys(await import("node:child_process")).filter((n) => n !== "default");
  return `const load = () => require("node:child_process");\nmodule.exports = {\n${names.map((n) => `  get ${n}() { return load().${n}; },`).join("\n")}\n};\n`;
}

/**
 * The dist/ modules outside the bundle that import a grammar module: each would load a second
 * copy of it beside the bundle's. Their specifiers are as tsc emitted them (`./x.js`, `../cli/x.js`).
 */
function grammarImportersOutside() {
  const dist = path.join(engine, "dist");
  const found = [];
  for (const rel of readdirSync(dist, { recursive: true })) {
    if (!rel.endsWith(".js") || rel.endsWith(".bundle.js")) continue;
    const file = path.join(dist, rel);
    if (path.dirname(file) === cliDir && GRAMMAR.has(path.basename(file))) continue;
    for (const m of readFileSync(file, "utf8").matchAll(/(?:from\s*|import\s*\(\s*)["'](\.{1,2}\/[^"']+)["']/g)) {
      const target = path.resolve(path.dirname(file), m[1]);
      if (path.dirname(target) === cliDir && GRAMMAR.has(path.basename(target))) found.push(`${path.relative(engine, file)} imports ${m[1]}`);
    }
  }
  return found;
}

export async function buildCli() {
  const outside = grammarImportersOutside();
  if (outside.length > 0) throw new Error(`the CLI bundle's grammar modules are imported from outside it (they would load twice): ${outside.join("; ")}`);
  const lazyCp = await lazyChildProcess();
  const result = await build({
    entryPoints: [path.join(cliDir, "main.js")],
    outfile: CLI_BUNDLE,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    // commander is CommonJS: its require() of Node's builtins needs a require in an ES module.
    banner: { js: 'import { createRequire as __pipebookRequire } from "node:module";\nconst require = __pipebookRequire(import.meta.url);' },
    // Frames in the grammar or commander map back to src/cli/*.ts (through tsc's maps) with --enable-source-maps.
    sourcemap: "linked",
    sourcesContent: false,
    legalComments: "none",
    logLevel: "warning",
    metafile: true,
    absWorkingDir: engine,
    plugins: [
      {
        name: "pipebook-cli",
        setup(b) {
          b.onResolve({ filter: /^(node:)?child_process$/ }, () => ({ path: "child_process", namespace: "lazy-builtin" }));
          b.onLoad({ filter: /.*/, namespace: "lazy-builtin" }, () => ({ contents: lazyCp, loader: "js", resolveDir: cliDir }));
          // A relative import leaves the bundle unless it names a grammar module; the bundle sits in
          // dist/cli/ beside the grammar, so the specifier as written still points at the right file.
          b.onResolve({ filter: /^\.\.?\// }, (a) => {
            if (a.namespace !== "file" || a.importer.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
            const target = path.resolve(a.resolveDir, a.path);
            if (path.dirname(target) === cliDir && GRAMMAR.has(path.basename(target))) return undefined;
            if (path.dirname(a.importer) !== cliDir) throw new Error(`${a.importer} imports ${a.path}: only dist/cli/ modules can import outside the bundle`);
            return { path: a.path, external: true };
          });
          b.onResolve({ filter: /^[^./]/ }, (a) => {
            if (a.path.startsWith("node:")) return { path: a.path, external: true };
            const pkg = a.path.startsWith("@") ? a.path.split("/").slice(0, 2).join("/") : a.path.split("/")[0];
            return BUNDLED_PACKAGES.has(pkg) ? undefined : { path: a.path, external: true };
          });
        },
      },
    ],
  });
  const inputs = Object.keys(result.metafile.inputs).filter((p) => !p.includes(":"));
  const manifest = Object.fromEntries(inputs.map((p) => {
    const abs = path.resolve(engine, p);
    const st = statSync(abs);
    return [path.relative(cliDir, abs), [st.size, st.mtimeMs]];
  }));
  writeFileSync(CLI_BUNDLE_MANIFEST, `${JSON.stringify({ inputs: manifest })}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await buildCli();
}
