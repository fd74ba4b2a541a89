import { stat } from "node:fs/promises";
import { dirname, relative, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { Pipeline } from "../dsl/Pipeline.js";
import { isExpectedFailure } from "../contract/expectedFailure.js";
import { compilePipelineFile } from "./compilePipelineFile.js";
import { PipelineFileError } from "./PipelineFileFailure.js";

export interface PipelineModule {
  readonly pipeline: Pipeline;
  /** `export const experiment = "..."` in the file, if any. */
  readonly experiment: string | undefined;
}

/**
 * Imports a TypeScript or JavaScript file that exports a pipeline: `export default`, `export
 * const pipeline`, or a (possibly async) function returning one.
 */
export async function loadPipelineFile(file: string): Promise<PipelineModule> {
  const abs = resolve(file);
  if (!(await stat(abs).then((s) => s.isFile(), () => false))) {
    throw new PipelineFileError({ reason: "file-missing", file });
  }
  // TypeScript through compilePipelineFile (no loader hooks); its `import "pipebook"` is this
  // engine's own index, so `instanceof Pipeline` below holds.
  const { url, engineModules } = /\.[cm]?tsx?$/.test(abs)
    ? await compilePipelineFile(abs)
    : { url: pathToFileURL(abs).href, engineModules: [new URL("../index.js", import.meta.url).href] };
  // Compiled files carry inline source maps: a throw in the user's code names their own line.
  // Node reads a module's map as it compiles it, once maps are on: the engine's modules that
  // the file imports (a compiled file: those of the names it uses; a JavaScript file: the index)
  // load first, without, or each would read and parse its .js.map file (~70 ms of a no-op
  // rerun); their frames are not shown to the user anyway. Maps go back off (unless the
  // process was started with them) once the file has run, for the modules loaded later.
  await Promise.all(engineModules.map((m) => import(m)));
  const mapsBefore = process.sourceMapsEnabled;
  process.setSourceMapsEnabled(true);
  let mod: Record<string, unknown>;
  let candidate: unknown;
  try {
    mod = (await import(url)) as Record<string, unknown>;
    candidate = mod["pipeline"] ?? mod["default"];
    if (typeof candidate === "function") candidate = await (candidate as () => unknown)();
  } catch (err) {
    throw loadFailure(file, url, err);
  } finally {
    process.setSourceMapsEnabled(mapsBefore);
  }
  if (!(candidate instanceof Pipeline)) {
    throw new PipelineFileError({ reason: "no-pipeline-export", file });
  }
  const experiment = typeof mod["experiment"] === "string" ? mod["experiment"] : undefined;
  return { pipeline: candidate, experiment };
}

/**
 * What went wrong while a pipeline file ran, as a user error naming the file and line: its own
 * throw, an import that is not installed. pipebook's expected failures (a bad step option) keep their
 * sentence and gain the line that raised them.
 */
function loadFailure(file: string, url: string, err: unknown): Error {
  const compiled = url.startsWith("file://") ? new URL(url).pathname : url;
  const text = (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).split(compiled).join(file);
  const stack = err instanceof Error ? (err.stack ?? "") : "";
  const frame = stack.split("\n").map((l) => /\(?((?:file:\/\/)?\/[^():]+):(\d+):\d+\)?$/.exec(l.trim()))
    .find((m) => m !== null && !m[1]!.includes("/node_modules/") && !m[1]!.includes("/engine/dist/") && !m[1]!.startsWith("node:") && m[1] !== compiled);
  // The inline map names sources relative to the file's folder; Node resolves them against the compiled file's.
  const source = (p: string): string => (p.startsWith(dirname(compiled) + sep) ? resolve(dirname(resolve(file)), relative(dirname(compiled), p)) : p);
  const at = frame ? `${relative(process.cwd(), source(frame[1]!.replace(/^file:\/\//, "")))}:${frame[2]}` : undefined;
  if (isExpectedFailure(err)) {
    // pipebook's own sentence (a bad step option, an unknown compute target), with the line that declared it.
    if (at !== undefined) err.message += ` (at ${at})`;
    return err;
  }
  return new PipelineFileError({ reason: "load-threw", file, error: text, at }, { cause: err });
}
