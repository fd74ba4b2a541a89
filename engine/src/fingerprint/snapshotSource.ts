import { readFile, readdir, realpath, stat } from "node:fs/promises";
import { join, posix, sep } from "node:path";
import { createRequire } from "node:module";
import type { Ignore } from "ignore";
import { SourceError } from "./SourceFailure.js";
import type { BlobStore } from "../artifacts/BlobStore.js";
import type { Digest } from "./digest.js";
import { hashEntries, type Entry, type TreeHash, type TreeHasherDeps } from "./hashTree.js";

/**
 * `ignore` is CommonJS: required rather than imported, since an `import` runs Node's export
 * lexer over its 20 kB first (~25 ms CPU of every `pipebook run`, docs/startup.md).
 */
const ignore = createRequire(import.meta.url)("ignore") as typeof import("ignore");

/** Folders never part of a snapshot: version-control internals are not source. */
const ALWAYS_EXCLUDED = new Set([".git", ".hg", ".svn"]);

interface Rules {
  /** Folder the rules were read in, relative to the source root ("" for the root). */
  readonly base: string;
  readonly matcher: Ignore;
}

/**
 * Lists a step's source folder honouring ignore files in every folder: `.amlignore` where a
 * folder has one, else `.gitignore` (the seeds: amlignore wins, either alone is honoured).
 * Rules apply to the folder they sit in and everything below it, as in git.
 *
 * Symbolic links: one that resolves inside the source folder is followed (its content is
 * snapshotted, as a copy would hold it); one that points outside the folder is refused, since the
 * snapshot is what the step's code is, forever; a link back to a folder that contains it (a loop)
 * is refused instead of walked without end. Ignored links are not looked at.
 */
export async function listSource(root: string): Promise<Entry[]> {
  const top = await stat(root, { bigint: true }).catch(() => undefined);
  if (!top?.isDirectory()) {
    throw new SourceError({ reason: "source-missing", root });
  }
  const out: Entry[] = [];
  const realRoot = await realpath(root);
  const inside = (p: string): boolean => p === realRoot || p.startsWith(realRoot + sep);
  /** `real`: the folder's real path; `above`: the real paths of the folders it sits in. */
  const visit = async (dir: string, rel: string, inherited: readonly Rules[], real: string, above: readonly string[]): Promise<void> => {
    const names = await readdir(dir, { withFileTypes: true });
    const own = await readRules(dir, names.map((n) => n.name), rel);
    const rules = own ? [...inherited, own] : inherited;
    await Promise.all(
      names.map(async (d) => {
        const childRel = rel === "" ? d.name : `${rel}/${d.name}`;
        const abs = join(dir, d.name);
        const st = d.isSymbolicLink() ? await stat(abs, { bigint: true }).catch(() => undefined) : undefined;
        const isDir = d.isDirectory() || (st?.isDirectory() ?? false);
        if (isDir && ALWAYS_EXCLUDED.has(d.name)) return;
        if (isIgnored(rules, childRel, isDir)) return;
        let childReal = join(real, d.name);
        if (st) {
          childReal = await realpath(abs);
          if (!inside(childReal)) {
            throw new SourceError({ reason: "link-outside", root, rel: childRel, target: childReal });
          }
        }
        if (isDir) {
          const chain = [...above, real];
          if (chain.includes(childReal)) {
            throw new SourceError({ reason: "link-loop", root, rel: childRel });
          }
          return visit(abs, childRel, rules, childReal, chain);
        }
        const fst = st ?? (await stat(abs, { bigint: true }).catch(() => undefined));
        if (fst?.isFile()) out.push({ abs, rel: childRel, st: fst });
      }),
    );
  };
  await visit(root, "", [], realRoot, []);
  return out;
}

async function readRules(dir: string, names: readonly string[], rel: string): Promise<Rules | undefined> {
  const file = names.includes(".amlignore") ? ".amlignore" : names.includes(".gitignore") ? ".gitignore" : undefined;
  if (!file) return undefined;
  const text = await readFile(join(dir, file), "utf8");
  return { base: rel, matcher: ignore().add(text) };
}

function isIgnored(rules: readonly Rules[], rel: string, isDir: boolean): boolean {
  for (const r of rules) {
    const local = r.base === "" ? rel : posix.relative(r.base, rel);
    if (r.matcher.ignores(isDir ? `${local}/` : local)) return true;
  }
  return false;
}

export interface SourceSnapshot extends TreeHash {
  /** Digest of the manifest blob (relative path → content digest) kept in the blob store. */
  readonly manifest: Digest;
}

/** Hashes a source folder and stores its files content-addressed, so every run keeps its code. */
export async function snapshotSource(root: string, deps: TreeHasherDeps, blobs: BlobStore): Promise<SourceSnapshot> {
  const entries = await listSource(root);
  const tree = await hashEntries(entries, "dir", deps);
  const byRel = new Map(entries.map((e) => [e.rel, e.abs]));
  await Promise.all([...tree.files].map(([rel, d]) => blobs.putFile(byRel.get(rel)!, d)));
  const manifest = await blobs.putBytes(JSON.stringify(Object.fromEntries(tree.files)));
  return { ...tree, manifest };
}
