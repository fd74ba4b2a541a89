import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Pipeline } from "../dsl/Pipeline.js";
import { PipebookError } from "../errors/PipebookError.js";
import { compilePipelineFile } from "./compilePipelineFile.js";

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
    throw new PipebookError("not-found", `pipeline file ${file} does not exist`);
  }
  // TypeScript through compilePipelineFile (no loader hooks); its `import "pipebook"` is this
  // engine's own index, so `instanceof Pipeline` below holds.
  const url = /\.[cm]?tsx?$/.test(abs) ? await compilePipelineFile(abs) : pathToFileURL(abs).href;
  const mod = (await import(url)) as Record<string, unknown>;
  let candidate = mod["pipeline"] ?? mod["default"];
  if (typeof candidate === "function") candidate = await (candidate as () => unknown)();
  if (!(candidate instanceof Pipeline)) {
    throw new PipebookError(
      "not-found",
      `${file} does not export a Pipeline: add \`export default pipeline\` or \`export const pipeline = new Pipeline(ws, { steps })\``,
    );
  }
  const experiment = typeof mod["experiment"] === "string" ? mod["experiment"] : undefined;
  return { pipeline: candidate, experiment };
}
