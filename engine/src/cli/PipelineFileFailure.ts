import { FailureError, unreachable, type PipebookErrorCode } from "../errors/PipebookError.js";

/**
 * Expected failures of loading a pipeline file (`pipebook run FILE`, `compile`, `publish`...):
 * finding it, compiling it, running it, finding its pipeline. `describePipelineFileFailure`
 * words them.
 */
export type PipelineFileFailure =
  | { readonly reason: "file-missing"; readonly file: string }
  /** esbuild's first error; `at` is where it points (column from 1), where it names a place. */
  | { readonly reason: "compile-failed"; readonly file: string; readonly at: SourcePlace | undefined; readonly problem: string }
  /** The compiled file cannot be kept in the cache folder (`message` is the system's). */
  | { readonly reason: "cache-unwritable"; readonly dir: string; readonly message: string }
  /** The file threw while it was imported: `error` is "Name: message" with the compiled path put back to the file's; `at` is the user's line that threw, where one is found. */
  | { readonly reason: "load-threw"; readonly file: string; readonly error: string; readonly at: string | undefined }
  | { readonly reason: "no-pipeline-export"; readonly file: string };

export interface SourcePlace {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export class PipelineFileError extends FailureError<PipelineFileFailure> {
  constructor(failure: PipelineFileFailure, options?: { cause?: unknown }) {
    super(pipelineFileFailureCode(failure), failure, describePipelineFileFailure(failure), [], options);
  }
}

function pipelineFileFailureCode(f: PipelineFileFailure): PipebookErrorCode {
  switch (f.reason) {
    case "file-missing":
    case "compile-failed":
    case "no-pipeline-export":
      return "not-found";
    case "cache-unwritable":
      return "config-invalid";
    case "load-threw":
      return "pipeline-file-invalid";
    default:
      return unreachable(f);
  }
}

export function describePipelineFileFailure(f: PipelineFileFailure): string {
  switch (f.reason) {
    case "file-missing":
      return `pipeline file ${f.file} does not exist`;
    case "compile-failed":
      return `cannot compile ${f.file}: ${f.at ? `${f.at.file}:${f.at.line}:${f.at.column}: ` : ""}${f.problem}`;
    case "cache-unwritable":
      return `cannot write the compiled pipeline to ${f.dir} (${f.message}); set PIPEBOOK_CACHE_DIR to a writable folder`;
    case "load-threw":
      return `pipeline file ${f.file} failed while loading: ${f.error}${f.at ? ` (at ${f.at})` : ""}`;
    case "no-pipeline-export":
      return `${f.file} does not export a Pipeline: add \`export default pipeline\` or \`export const pipeline = new Pipeline(ws, { steps })\``;
    default:
      return unreachable(f);
  }
}
