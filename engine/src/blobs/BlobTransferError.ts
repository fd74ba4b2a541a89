import { FailureError, unreachable, type PipebookErrorCode } from "../errors/PipebookError.js";

/**
 * Why a blob transfer failed, as data; `describeBlobTransferFailure` words it. `said` is the
 * server's own sentence (its error reply), `doing` what the client was doing ("upload x.csv").
 */
export type BlobTransferFailure =
  | { readonly reason: "unauthorized"; readonly server: string; readonly said: string }
  | { readonly reason: "forbidden"; readonly said: string }
  | { readonly reason: "not-found"; readonly digest: string }
  /** The server refused an upload's bytes as not the digest's (422). */
  | { readonly reason: "upload-not-digest"; readonly digest: string; readonly file: string; readonly said: string }
  /** A download's bytes are not the digest's. */
  | { readonly reason: "digest-mismatch"; readonly digest: string; readonly bytes: number; readonly actual: string }
  | { readonly reason: "conflict"; readonly digest: string; readonly file: string; readonly offset: number; readonly size: number }
  | { readonly reason: "refused"; readonly doing: string; readonly status: number; readonly said: string }
  /** The connection failed more often than the client retries. */
  | { readonly reason: "unreachable"; readonly doing: string; readonly server: string; readonly attempts: number; readonly last: string }
  | { readonly reason: "missing-list-absent" }
  | { readonly reason: "missing-not-digest"; readonly named: string };

/** Worded for a person (a refused token, an unreachable server), never a crash. */
export class BlobTransferError extends FailureError<BlobTransferFailure> {
  constructor(failure: BlobTransferFailure, options?: { cause?: unknown }) {
    super(blobTransferFailureCode(failure), failure, describeBlobTransferFailure(failure), [], options);
  }
}

function blobTransferFailureCode(f: BlobTransferFailure): PipebookErrorCode {
  switch (f.reason) {
    case "unauthorized":
    case "forbidden":
      return "unauthorized";
    case "not-found":
      return "not-found";
    case "upload-not-digest":
    case "digest-mismatch":
      return "source-invalid";
    case "unreachable":
      return "server-unreachable";
    case "conflict":
    case "refused":
    case "missing-list-absent":
    case "missing-not-digest":
      return "server-refused";
    default:
      return unreachable(f);
  }
}

export function describeBlobTransferFailure(f: BlobTransferFailure): string {
  switch (f.reason) {
    case "unauthorized":
      return `the server at ${f.server} refused the token: ${f.said}`;
    case "forbidden":
      return f.said;
    case "not-found":
      return `the server has no blob ${f.digest}`;
    case "upload-not-digest":
      return `${f.file} is not blob ${f.digest}: ${f.said}`;
    case "digest-mismatch":
      return `the bytes received for blob ${f.digest} (${f.bytes}) have sha256 ${f.actual}; nothing was kept`;
    case "conflict":
      return `the server holds ${f.offset} bytes of an upload of ${f.digest}, more than the ${f.size} of ${f.file}`;
    case "refused":
      return `could not ${f.doing}: the server answered ${f.status}: ${f.said}`;
    case "unreachable":
      return `could not ${f.doing}: the connection to ${f.server} failed ${f.attempts} times (last: ${f.last})`;
    case "missing-list-absent":
      return `the server's reply to POST /blobs/missing has no "missing" list (is it a pipebook server of this version?)`;
    case "missing-not-digest":
      return `the server named "${f.named}" as missing, which is not a digest`;
    default:
      return unreachable(f);
  }
}
