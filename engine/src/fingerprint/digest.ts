import { createHash } from "node:crypto";

/**
 * A SHA-256 content digest, hex encoded. Branded so that a path, a run id or any other
 * string cannot be passed where a content hash is expected; only this module makes them.
 */
export type Digest = string & { readonly __brand: "Digest" };

export function sha256Hex(data: string | Uint8Array): Digest {
  return createHash("sha256").update(data).digest("hex") as Digest;
}

/** Marks a hex string read back from the store as a digest (it was one when written). */
export function asDigest(hex: string): Digest {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`not a sha256 digest: ${hex}`);
  return hex as Digest;
}

/**
 * JSON with object keys sorted at every depth, so that two equal values always hash equal
 * regardless of the order in which their fields were built.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export function digestOfJson(value: unknown): Digest {
  return sha256Hex(canonicalJson(value));
}
