import { FailureError, unreachable, type Failure, type PipebookErrorCode } from "../errors/PipebookError.js";

/**
 * Expected failures of reading what a run left behind (its steps' snapshots and outputs) and of
 * delivering a step's outputs to their datastore, as data; `describeArtifactFailure` words them.
 */
export type ArtifactFailure =
  | { readonly reason: "run-unknown"; readonly runId: string }
  | { readonly reason: "step-unknown"; readonly runId: string; readonly step: string; readonly steps: readonly string[] }
  | { readonly reason: "snapshot-blob-gone"; readonly runId: string; readonly step: string; readonly path: string; readonly digest: string }
  | { readonly reason: "snapshot-file-unknown"; readonly runId: string; readonly step: string; readonly path: string }
  | { readonly reason: "destination-exists"; readonly path: string }
  | { readonly reason: "archive-path-too-long"; readonly path: string }
  | { readonly reason: "archive-file-too-large"; readonly path: string }
  /** A file of an archive held other than the bytes its entry promised (a stored blob changed: the store is damaged). */
  | { readonly reason: "archive-file-changed"; readonly path: string; readonly expected: number; readonly actual: number }
  | { readonly reason: "step-without-outputs"; readonly runId: string; readonly step: string; readonly status: string }
  | { readonly reason: "output-unknown"; readonly runId: string; readonly step: string | undefined; readonly output: string; readonly outputs: readonly string[] }
  | { readonly reason: "outputs-not-yet"; readonly runId: string; readonly steps: readonly { readonly name: string; readonly status: string }[] }
  | { readonly reason: "output-gone"; readonly runId: string; readonly step: string; readonly output: string; readonly root: string; readonly message: string }
  /**
   * An output could not be uploaded or registered: `problem` is the sentence of what failed,
   * `code` and `failure` its code and data where the failure was an expected one (else datastore-error).
   */
  | { readonly reason: "output-undelivered"; readonly step: string; readonly output: string; readonly code: PipebookErrorCode; readonly problem: string; readonly failure?: Failure };

export class ArtifactError extends FailureError<ArtifactFailure> {
  constructor(failure: ArtifactFailure, options?: { cause?: unknown }) {
    super(artifactFailureCode(failure), failure, describeArtifactFailure(failure), [], options);
  }
}

function artifactFailureCode(f: ArtifactFailure): PipebookErrorCode {
  switch (f.reason) {
    case "run-unknown":
    case "step-unknown":
    case "snapshot-blob-gone":
    case "snapshot-file-unknown":
    case "step-without-outputs":
    case "output-unknown":
    case "outputs-not-yet":
    case "output-gone":
      return "not-found";
    case "destination-exists":
    case "archive-path-too-long":
    case "archive-file-too-large":
    case "archive-file-changed":
      return "source-invalid";
    case "output-undelivered":
      return f.code;
    default:
      return unreachable(f);
  }
}

export function describeArtifactFailure(f: ArtifactFailure): string {
  switch (f.reason) {
    case "run-unknown":
      return `no run ${f.runId} in this workspace`;
    case "step-unknown":
      return `run ${f.runId} has no step "${f.step}" (steps: ${f.steps.join(", ")})`;
    case "snapshot-blob-gone":
      return `the snapshot of step "${f.step}" in run ${f.runId} lacks file ${f.path} (blob ${f.digest.slice(0, 12)} is gone from the workspace)`;
    case "snapshot-file-unknown":
      return `the snapshot of step "${f.step}" in run ${f.runId} has no file ${f.path}`;
    case "destination-exists":
      return `${f.path} already exists; give --out an empty or new folder (nothing was written)`;
    case "archive-path-too-long":
      return `path too long for a tar archive: ${f.path}`;
    case "archive-file-too-large":
      return `${f.path} is too large for a ustar archive (8 GiB at most)`;
    case "archive-file-changed":
      return `${f.path} held ${f.actual} bytes where ${f.expected} were recorded, so the archive stopped there: a stored file must not change (is the workspace's blob store damaged?)`;
    case "step-without-outputs":
      return `step "${f.step}" of run ${f.runId} has no outputs to download (it is ${f.status}${f.status === "completed" || f.status === "reused" ? " and declares none" : ""})`;
    case "output-unknown":
      return `${f.step !== undefined ? `step "${f.step}"` : `no step of run ${f.runId}`} has no output "${f.output}"${f.outputs.length > 0 ? ` (outputs: ${f.outputs.join(", ")})` : ""}`;
    case "outputs-not-yet":
      return `run ${f.runId} has no outputs to download yet (status: ${f.steps.map((s) => `${s.name} ${s.status}`).join(", ")})`;
    case "output-gone":
      return `output "${f.output}" of step "${f.step}" in run ${f.runId} is gone from the workspace (${f.root}): ${f.message}`;
    case "output-undelivered":
      return `step "${f.step}": output "${f.output}": ${f.problem}`;
    default:
      return unreachable(f);
  }
}
