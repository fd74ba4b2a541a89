import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PipelineFileError } from "./PipelineFileFailure.js";

/** What a compiled pipeline file was made from: valid while every input reads the same. */
interface Manifest {
  readonly format: typeof FORMAT;
  readonly esbuild: string;
  /** The file and every local module bundled with it, with the sha256 of their content. */
  readonly inputs: readonly { readonly path: string; readonly sha256: string }[];
  /** Modules the output imports by absolute URL (packages): they must still be there. */
  readonly externals: readonly string[];
  /** Those of them that are this engine's own modules (see engineModulesOf). */
  readonly engineModules: readonly string[];
}

/** A pipeline file made importable: the URL to import, and the engine modules it imports. */
export interface CompiledPipelineFile {
  readonly url: string;
  /**
   * This engine's modules that the output imports (file URLs), which loadPipelineFile loads
   * before it turns source maps on.
   */
  readonly engineModules: readonly string[];
}

const FORMAT = 2;

/** This engine's package index (dist/index.js), as `import "pipebook"` resolves to it from a pipeline file. */
const ENGINE_INDEX = fileURLToPath(new URL("../index.js", import.meta.url));
const ENGINE_DIST = dirname(ENGINE_INDEX);
const INDEX_NAMESPACE = "pipebook-index";

/**
 * A TypeScript pipeline file as one ES module Node imports without loader hooks. tsx's hooks
 * (a worker thread every module load goes through, ~0.2 s of CPU to start here) were most of a
 * no-op rerun; esbuild bundles the file with its local modules instead, once per content:
 * later runs read the inputs, compare their digests and import the cached output, starting no
 * thread and no esbuild. Packages stay external, imported by the absolute URL esbuild resolves
 * from the file's folder (so the output can live in a cache folder and still find them, and
 * `pipebook` is the one the CLI loaded); `import.meta.url`, `dirname` and `filename` keep
 * naming each module's own source file.
 *
 * `import { ... } from "pipebook"` of this engine is compiled to imports of the engine modules
 * that define the names the file uses (`Workspace` from dist/workspace/Workspace.js, ...), not
 * of the index: the index re-exports the whole engine (publishing, schedules, the blob client
 * and its https, the remote client, ...), and an ES module's re-exports all load with it, so a
 * pipeline file that names eight classes loaded ~150 modules. They are the very modules the
 * index re-exports, so each is still loaded once and `instanceof Pipeline` holds; the index is
 * one of the inputs, so a rebuilt engine whose index moved a name recompiles the file.
 *
 * Compile errors (a syntax error, a missing local module) are PipelineFileErrors worded by
 * esbuild with file, line and column.
 */
export async function compilePipelineFile(file: string): Promise<CompiledPipelineFile> {
  const key = createHash("sha256").update(`${FORMAT}\0${file}`).digest("hex").slice(0, 24);
  const dir = cacheDir();
  const output = join(dir, `${key}.mjs`);
  const manifestFile = join(dir, `${key}.json`);
  const current = currentManifest(manifestFile);
  if (current) return { url: pathToFileURL(output).href, engineModules: current.engineModules };
  return build(file, dir, output, manifestFile);
}

function cacheDir(): string {
  const root = process.env["PIPEBOOK_CACHE_DIR"] ?? join(process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "pipebook");
  return join(root, "pipelines");
}

function sha256(path: string): string | undefined {
  try {
    return createHash("sha256").update(readFileSync(path)).digest("hex");
  } catch {
    return undefined;
  }
}

/** The manifest of a compiled file that is still valid, else undefined. */
function currentManifest(manifestFile: string): Manifest | undefined {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as Manifest;
  } catch {
    return undefined;
  }
  if (manifest.format !== FORMAT) return undefined;
  if (!manifest.inputs.every((i) => sha256(i.path) === i.sha256)) return undefined;
  return manifest.externals.every((url) => statSync(fileURLToPath(url), { throwIfNoEntry: false }) !== undefined) ? manifest : undefined;
}

/**
 * The index's text when it only re-exports (`export { ... } from "./x.js"`, what tsc emits for
 * index.ts), else undefined: code of its own would be copied into the compiled file, a second
 * instance of it, so such an index is imported whole instead.
 */
function reexportsOnly(text: string): string | undefined {
  const statements = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  return /^(\s*export\s*\{[^}]*\}\s*from\s*"\.[^"]*";)*\s*$/.test(statements) ? text : undefined;
}

/** Whether esbuild's resolution of a package is this engine's own index. */
function isEngineIndex(path: string): boolean {
  try {
    return path === ENGINE_INDEX || realpathSync(path) === realpathSync(ENGINE_INDEX);
  } catch {
    return false;
  }
}

async function build(file: string, dir: string, output: string, manifestFile: string): Promise<CompiledPipelineFile> {
  const esbuild = await import("esbuild");
  const indexBytes = readFileSync(ENGINE_INDEX);
  const index = reexportsOnly(indexBytes.toString("utf8"));
  const read = new Map<string, string>();
  const RESOLVING = Symbol("resolving");
  let result: Awaited<ReturnType<typeof esbuild.build>> & { metafile: NonNullable<Awaited<ReturnType<typeof esbuild.build>>["metafile"]> };
  try {
    result = await esbuild.build({
      entryPoints: [file], bundle: true, write: false, metafile: true, format: "esm", platform: "node", target: `node${process.versions.node}`,
      sourcemap: "inline", sourcesContent: false, logLevel: "silent", absWorkingDir: dirname(file),
      plugins: [{
        name: "pipebook-packages",
        setup(b) {
          // Packages: by the absolute URL they resolve to from the importing file's folder.
          b.onResolve({ filter: /^[^./]/ }, async (args) => {
            if (args.pluginData === RESOLVING) return undefined;
            if (isBuiltin(args.path)) return { path: args.path, external: true };
            const found = await b.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: RESOLVING });
            if (found.errors.length > 0 || found.external || !found.path) return undefined;
            // This engine's index: bundled as its re-exports, so only the modules of the names used stay imported.
            if (isEngineIndex(found.path) && index !== undefined) return { path: ENGINE_INDEX, namespace: INDEX_NAMESPACE };
            return { path: pathToFileURL(found.path).href, external: true };
          });
          b.onLoad({ filter: /.*/, namespace: INDEX_NAMESPACE }, () => ({ contents: index, loader: "js", resolveDir: ENGINE_DIST }));
          // The index's modules: external, by absolute URL, and free of side effects, so that
          // esbuild drops those whose names the file does not use.
          b.onResolve({ filter: /^\./, namespace: INDEX_NAMESPACE }, (args) => ({ path: pathToFileURL(resolve(args.resolveDir, args.path)).href, external: true, sideEffects: false }));
          // Local modules: read here, so the digests kept are of exactly what was compiled; each
          // module's import.meta names its own source, not the bundle.
          b.onLoad({ filter: /\.([cm]?[jt]sx?|json)$/ }, (args) => {
            if (args.path.includes("/node_modules/")) return undefined;
            const bytes = readFileSync(args.path);
            read.set(args.path, createHash("sha256").update(bytes).digest("hex"));
            const contents = bytes.toString("utf8")
              .replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(args.path).href))
              .replace(/\bimport\.meta\.dirname\b/g, JSON.stringify(dirname(args.path)))
              .replace(/\bimport\.meta\.filename\b/g, JSON.stringify(args.path));
            return { contents, loader: loaderOf(args.path), resolveDir: dirname(args.path) };
          });
        },
      }],
    }) as typeof result;
  } catch (err) {
    const failure = err as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] };
    const first = failure.errors?.[0];
    if (!first) throw err;
    const at = first.location ? { file: first.location.file, line: first.location.line, column: first.location.column + 1 } : undefined;
    throw new PipelineFileError({ reason: "compile-failed", file, at, problem: first.text }, { cause: err });
  }
  const code = result.outputFiles?.[0]?.contents;
  if (!code) throw new Error(`esbuild produced no output for ${file}`);
  const inputs = Object.keys(result.metafile.inputs).filter((p) => !p.startsWith(`${INDEX_NAMESPACE}:`))
    .map((p) => join(dirname(file), p)).filter((p) => !p.includes("/node_modules/"));
  // What the output imports, as esbuild kept it (the index's unused modules are gone).
  const externals = [...new Set(Object.values(result.metafile.outputs).flatMap((o) => o.imports)
    .filter((i) => i.external && i.path.startsWith("file:")).map((i) => i.path))].sort();
  const engineModules = externals.filter((url) => fileURLToPath(url).startsWith(ENGINE_DIST + "/"));
  const manifest: Manifest = {
    format: FORMAT, esbuild: esbuild.version,
    inputs: [
      ...inputs.map((path) => ({ path, sha256: read.get(path) ?? sha256(path) ?? "" })),
      ...(index !== undefined ? [{ path: ENGINE_INDEX, sha256: createHash("sha256").update(indexBytes).digest("hex") }] : []),
    ],
    externals, engineModules,
  };
  // Written under temporary names and renamed: a concurrent run reads a whole file or none.
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = `${output}.${process.pid}.tmp`;
    writeFileSync(tmp, code);
    renameSync(tmp, output);
    writeFileSync(`${manifestFile}.${process.pid}.tmp`, JSON.stringify(manifest));
    renameSync(`${manifestFile}.${process.pid}.tmp`, manifestFile);
  } catch (err) {
    throw new PipelineFileError({ reason: "cache-unwritable", dir, message: (err as Error).message }, { cause: err });
  }
  return { url: pathToFileURL(output).href, engineModules };
}

function loaderOf(path: string): "ts" | "tsx" | "js" | "jsx" | "json" {
  if (path.endsWith(".json")) return "json";
  if (/\.[cm]?tsx$/.test(path)) return "tsx";
  if (/\.[cm]?ts$/.test(path)) return "ts";
  return path.endsWith("x") ? "jsx" : "js";
}
