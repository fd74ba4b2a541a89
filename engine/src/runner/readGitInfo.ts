import { statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { GitInfo } from "../store/RunStore.js";
import { GIT_STATUS_ARGS, parseGitStatus } from "./parseGitStatus.js";

const recent = new Map<string, { at: number | undefined; info: Promise<GitInfo | undefined> }>();
/** A burst of submits (a server under load, a sweep) asks git once: a process per run costs more than the run. */
const MEMO_MS = 2000;

/**
 * Repository (its top folder), branch, full commit hash and dirty flag of the folder a run was
 * submitted from; undefined outside a repository, and then no process is started at all. Inside
 * one, a single `git status` runs, started from a worker thread (gitStatusWorker.ts), so the
 * engine's event loop never waits for a fork; or, with `from: "this-thread"`, started here
 * (asynchronously), for a process that asks as it starts (`pipebook run`): a fork is cheap while
 * the heap is small, and a worker costs a whole second Node environment (~90 ms of CPU here
 * against ~20 ms for the spawn, docs/run-path.md).
 */
export function readGitInfo(dir: string, options: { readonly from?: "worker" | "this-thread" } = {}): Promise<GitInfo | undefined> {
  const root = repositoryRoot(resolve(dir));
  if (root === undefined) return Promise.resolve(undefined);
  const hit = recent.get(root);
  // An answer still coming is shared whatever its age; a settled one for MEMO_MS.
  if (hit && (hit.at === undefined || Date.now() - hit.at < MEMO_MS)) return hit.info;
  const entry: { at: number | undefined; info: Promise<GitInfo | undefined> } = { at: undefined, info: options.from === "this-thread" ? askGitHere(root) : askGit(root) };
  void entry.info.then(() => (entry.at = Date.now()));
  recent.set(root, entry);
  return entry.info;
}

/**
 * The nearest folder at or above `dir` holding `.git` (a folder, or a file in worktrees and
 * submodules). GIT_DIR points git elsewhere: then the folder itself is asked.
 */
function repositoryRoot(dir: string): string | undefined {
  if (process.env["GIT_DIR"] !== undefined) return dir;
  for (let at = dir; ; at = dirname(at)) {
    if (statSync(join(at, ".git"), { throwIfNoEntry: false }) !== undefined) return at;
    if (dirname(at) === at) return undefined;
  }
}

async function askGit(root: string): Promise<GitInfo | undefined> {
  // node:worker_threads loads here: `pipebook run` asks from its own thread and never needs it.
  const { Worker } = await import("node:worker_threads");
  return new Promise((resolve) => {
    try {
      const worker = new Worker(new URL("./gitStatusWorker.js", import.meta.url), { workerData: { root } });
      worker.once("message", (info: GitInfo | undefined) => resolve(info));
      worker.once("error", () => resolve(undefined));
      worker.once("exit", () => resolve(undefined));
    } catch {
      resolve(undefined);
    }
  });
}

/** The same `git status` as gitStatusWorker.ts, started from this thread without waiting for it. */
async function askGitHere(root: string): Promise<GitInfo | undefined> {
  const { execFile } = await import("node:child_process");
  return new Promise((resolve) => {
    try {
      execFile("git", ["-C", root, ...GIT_STATUS_ARGS], { encoding: "utf8", timeout: 10_000, maxBuffer: 8 << 20 }, (err, stdout) => {
        // A status too long for the buffer is a very dirty tree: its header lines came first.
        const overflowed = (err as NodeJS.ErrnoException | null)?.code === "ERR_CHILD_PROCESS_STDIO_MAXBUFFER";
        resolve(err === null || overflowed ? parseGitStatus(root, stdout, overflowed) : undefined);
      }).stdin?.end();
    } catch {
      resolve(undefined);
    }
  });
}
