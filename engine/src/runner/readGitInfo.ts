import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { GitInfo } from "../store/RunStore.js";

const run = promisify(execFile);

const recent = new Map<string, { at: number; info: Promise<GitInfo | undefined> }>();
/** A burst of submits (a server under load, a sweep) asks git once: two processes per run cost more than the run. */
const MEMO_MS = 2000;

/** Repository, branch, commit and dirty flag of the folder a run was submitted from; undefined outside git. */
export function readGitInfo(dir: string): Promise<GitInfo | undefined> {
  const hit = recent.get(dir);
  if (hit && Date.now() - hit.at < MEMO_MS) return hit.info;
  const info = askGit(dir);
  recent.set(dir, { at: Date.now(), info });
  return info;
}

async function askGit(dir: string): Promise<GitInfo | undefined> {
  try {
    const [{ stdout: head }, { stdout: status }] = await Promise.all([
      run("git", ["-C", dir, "rev-parse", "--show-toplevel", "--abbrev-ref", "HEAD", "HEAD"], { timeout: 10_000 }),
      run("git", ["-C", dir, "status", "--porcelain"], { timeout: 10_000, maxBuffer: 16 << 20 }),
    ]);
    const [repo = "", branch = "", commit = ""] = head.trim().split("\n");
    return { repo, branch, commit, dirty: status.trim().length > 0 };
  } catch {
    return undefined;
  }
}
