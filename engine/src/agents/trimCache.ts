import { rmSync, statSync, utimesSync } from "node:fs";
import type { BlobStore } from "../artifacts/BlobStore.js";
import type { Digest } from "../fingerprint/digest.js";

export interface CacheTrim {
  /** Blobs removed, and their bytes. */
  readonly removed: number;
  readonly freedBytes: number;
  /** What the cache holds afterwards; over the limit only when running jobs use the rest. */
  readonly heldBytes: number;
}

/** Says a blob was just used: its mtime is its last use, which `trimCache` goes by. */
export function markUsed(cache: BlobStore, digest: Digest): void {
  const now = new Date();
  try {
    utimesSync(cache.pathOf(digest), now, now);
  } catch {
    // Gone meanwhile (another job's trim): the caller fetches what it lacks.
  }
}

/**
 * Keeps an agent's blob cache within `limitBytes`: removes the blobs used longest ago (mtime, set
 * by `markUsed` when a job finds one there and when it is fetched or kept) until the rest fit.
 * Never one that `inUse` names: a running job's inputs are hard links to its blobs, or it is
 * about to lay them out. Partial downloads (`.part`, `.tmp`) are not blobs and are left alone.
 */
export function trimCache(cache: BlobStore, limitBytes: number, inUse: ReadonlySet<string>): CacheTrim {
  const blobs: { path: string; digest: string; size: number; usedAt: number }[] = [];
  let held = 0;
  for (const { digest, path } of cache.list()) {
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st?.isFile()) continue;
    held += st.size;
    blobs.push({ path, digest, size: st.size, usedAt: st.mtimeMs });
  }
  let removed = 0;
  let freedBytes = 0;
  if (held > limitBytes) {
    blobs.sort((a, b) => a.usedAt - b.usedAt);
    for (const b of blobs) {
      if (held <= limitBytes) break;
      if (inUse.has(b.digest)) continue;
      rmSync(b.path, { force: true });
      held -= b.size;
      freedBytes += b.size;
      removed++;
    }
  }
  return { removed, freedBytes, heldBytes: held };
}
