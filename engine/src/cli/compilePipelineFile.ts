import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
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
}

const FORMAT = 1;

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
 * Returns the URL to import. Compile errors (a syntax error, a missing local module) are
 * PipelineFileErrors worded by esbuild with file, line and column.
 */
export async function compilePipelineFile(file: string): Promise<string> {
  const key = createHash("sha256").update(`${FORMAT}\0${file}`).digest("hex").slice(0, 24);
  const dir = cacheDir();
  const output = join(dir, `${key}.mjs`);
  const manifestFile = join(dir, `${key}.json`);
  if (isCurrent(manifestFile)) return pathToFileURL(output).href;
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

function isCurrent(manifestFile: string): boolean {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as Manifest;
  } catch {
    return false;
  }
  if (manifest.format !== FORMAT) return false;
  if (!manifest.inputs.every((i) => sha256(i.path) === i.sha256)) return false;
  return manifest.externals.every((url) => statSync(fileURLToPath(url), { throwIfNoEntry: false }) !== undefined);
}

async function build(file: string, dir: string, output: string, manifestFile: string): Promise<string> {
  const esbuild = await import("esbuild");
  const externals = new Set<string>();
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
            const url = pathToFileURL(found.path).href;
            externals.add(url);
            return { path: url, external: true };
          });
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
  const inputs = Object.keys(result.metafile.inputs).map((p) => join(dirname(file), p)).filter((p) => !p.includes("/node_modules/"));
  const manifest: Manifest = {
    format: FORMAT, esbuild: esbuild.version,
    inputs: inputs.map((path) => ({ path, sha256: read.get(path) ?? sha256(path) ?? "" })),
    externals: [...externals].sort(),
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
  return pathToFileURL(output).href;
}

function loaderOf(path: string): "ts" | "tsx" | "js" | "jsx" | "json" {
  if (path.endsWith(".json")) return "json";
  if (/\.[cm]?tsx$/.test(path)) return "tsx";
  if (/\.[cm]?ts$/.test(path)) return "ts";
  return path.endsWith("x") ? "jsx" : "js";
}
