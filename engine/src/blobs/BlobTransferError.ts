import { EXPECTED_FAILURE } from "../contract/expectedFailure.js";

/** Why a blob transfer failed, as data; the message is its one sentence. */
export type BlobTransferFailure =
  | { readonly reason: "unauthorized"; readonly detail: string }
  | { readonly reason: "forbidden"; readonly detail: string }
  | { readonly reason: "not-found"; readonly detail: string }
  | { readonly reason: "digest-mismatch"; readonly detail: string }
  | { readonly reason: "conflict"; readonly detail: string }
  | { readonly reason: "refused"; readonly detail: string }
  /** The connection failed more often than the client retries. */
  | { readonly reason: "unreachable"; readonly detail: string }
  | { readonly reason: "protocol"; readonly detail: string };

export class BlobTransferError extends Error {
  override readonly name = "BlobTransferError";
  /** Worded for a person (a refused token, an unreachable server), never a crash. */
  readonly [EXPECTED_FAILURE] = true;
  constructor(readonly failure: BlobTransferFailure, options?: { cause?: unknown }) {
    super(failure.detail, options);
  }
}
