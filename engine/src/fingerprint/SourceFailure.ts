import { FailureError, unreachable, type PipebookErrorCode } from "../errors/PipebookError.js";

/** Expected failures of snapshotting a step's source folder, as data. */
export type SourceFailure =
  | { readonly reason: "source-missing"; readonly root: string }
  | { readonly reason: "link-outside"; readonly root: string; readonly rel: string; readonly target: string }
  | { readonly reason: "link-loop"; readonly root: string; readonly rel: string };

export class SourceError extends FailureError<SourceFailure> {
  constructor(failure: SourceFailure) {
    super(sourceFailureCode(failure), failure, describeSourceFailure(failure));
  }
}

function sourceFailureCode(f: SourceFailure): PipebookErrorCode {
  return f.reason === "source-missing" ? "source-missing" : "source-invalid";
}

export function describeSourceFailure(f: SourceFailure): string {
  switch (f.reason) {
    case "source-missing":
      return `source directory ${f.root} does not exist or is not a folder`;
    case "link-outside":
      return `source directory ${f.root}: "${f.rel}" links to ${f.target}, outside the folder; copy it in, or list it in .amlignore and give the step its data as an input`;
    case "link-loop":
      return `source directory ${f.root}: "${f.rel}" links back to a folder that contains it (a loop); remove the link or list it in .amlignore`;
    default:
      return unreachable(f);
  }
}
