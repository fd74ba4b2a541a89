import type { Digest } from "../fingerprint/digest.js";

/**
 * What the blob routes and `BlobClient` agree on, apart from HTTP itself. Blobs are named by
 * the SHA-256 of their bytes, hex, as the workspace's BlobStore names them.
 */

const DIGEST = /^[0-9a-f]{64}$/;

export function isBlobDigest(s: string): s is Digest {
  return DIGEST.test(s);
}

/** `POST /blobs/missing` takes at most this many digests; the client sends more in batches. */
export const MAX_DIGESTS_PER_QUERY = 2000;

/** The header of `HEAD /blobs/{digest}` (404) and of refused PUTs: bytes of a kept partial upload. */
export const UPLOAD_OFFSET_HEADER = "upload-offset";

