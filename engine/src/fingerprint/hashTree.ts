import { readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { readdirSync, statSync, type BigIntStats } from "node:fs";
import { digestOfJson, type Digest } from "./digest.js";
import type { HashPool } from "./HashPool.js";
import { StatCache } from "../store/StatCache.js";

/** Content of a file or a folder: one digest for the whole, and one per file for explanations. */
export interface TreeHash {
  readonly digest: Digest;
  /** Relative path (posix separators; "" for a single file) → content digest. */
  readonly files: ReadonlyMap<string, Digest>;
  readonly bytes: number;
}

export interface TreeHasherDeps {
  readonly cache: StatCache;
  readonly pool: HashPool;
}

export interface Entry {
  readonly abs: string;
  readonly rel: string;
  readonly st: BigIntStats;
}

/**
 * Hashes a file or a folder by content. The folder digest covers relative paths and file
 * contents only (no mtimes, no absolute paths), so the same data anywhere hashes the same.
 */
export async function hashTree(root: string, deps: TreeHasherDeps): Promise<TreeHash> {
  // Metadata of a small tree is read synchronously (see walkSmall); its files are only read
  // where the stat cache has no digest for them.
  const top = statSync(root, { bigint: true });
  const entries: Entry[] = top.isDirectory() ? (walkSmall(root) ?? (await walk(root))) : [{ abs: root, rel: "", st: top }];
  return hashEntries(entries, top.isDirectory() ? "dir" : "file", deps);
}

/** Above this many names in all, a tree is listed asynchronously (walk). */
const SMALL_TREE = 64;

/**
 * walk's answer for a tree of at most SMALL_TREE names, with synchronous calls: each
 * asynchronous readdir or stat is a round trip through libuv's thread pool that the caller waits
 * for, and a reuse check or an output of a few files (every step of a no-op rerun) paid several
 * in series. undefined for a larger tree, which walk lists without holding the event loop.
 */
function walkSmall(root: string): Entry[] | undefined {
  const out: Entry[] = [];
  let budget = SMALL_TREE;
  const visit = (dir: string): boolean => {
    const names = readdirSync(dir, { withFileTypes: true });
    budget -= names.length;
    if (budget < 0) return false;
    for (const d of names) {
      const abs = join(dir, d.name);
      if (d.isDirectory()) {
        if (!visit(abs)) return false;
      } else if (d.isFile() || d.isSymbolicLink()) {
        // As walk: symlinks are followed to their content, a dangling one is skipped.
        let st: BigIntStats | undefined;
        try {
          st = statSync(abs, { bigint: true });
        } catch {
          // Dangling, a loop, unreadable: skipped.
        }
        if (st?.isFile()) out.push({ abs, rel: relative(root, abs).split(sep).join("/"), st });
      }
    }
    return true;
  };
  return visit(root) ? out : undefined;
}

/** Hashes listed files (through the stat cache) into a tree digest. */
export async function hashEntries(entries: readonly Entry[], kind: "dir" | "file", deps: TreeHasherDeps): Promise<TreeHash> {
  const files = new Map<string, Digest>();
  const misses: Entry[] = [];
  let bytes = 0;
  for (const e of entries) {
    bytes += Number(e.st.size);
    const hit = deps.cache.lookup(e.abs, StatCache.stamp(e.st));
    if (hit) files.set(e.rel, hit);
    else misses.push(e);
  }
  if (misses.length > 0) {
    const missBytes = misses.reduce((n, e) => n + Number(e.st.size), 0);
    const digests = await deps.pool.hashAll(misses.map((e) => e.abs), missBytes);
    misses.forEach((e, i) => {
      const d = digests[i]!;
      files.set(e.rel, d);
      deps.cache.remember(e.abs, e.st, d);
    });
    deps.cache.flush();
  }
  const sorted = [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const digest = digestOfJson({ kind, files: sorted });
  return { digest, files: new Map(sorted), bytes };
}

/** Every file under a folder (symlinks followed), with paths relative to it; order is not fixed. */
export async function walk(root: string): Promise<Entry[]> {
  const out: Entry[] = [];
  const visit = async (dir: string): Promise<void> => {
    const names = await readdir(dir, { withFileTypes: true });
    await Promise.all(
      names.map(async (d) => {
        const abs = join(dir, d.name);
        const rel = relative(root, abs).split(sep).join("/");
        if (d.isDirectory()) {
          await visit(abs);
        } else if (d.isFile() || d.isSymbolicLink()) {
          // Follow symlinks to their content; a dangling one is skipped like a missing file.
          const st = await stat(abs, { bigint: true }).catch(() => undefined);
          if (st?.isFile()) out.push({ abs, rel, st });
        }
      }),
    );
  };
  await visit(root);
  return out;
}
