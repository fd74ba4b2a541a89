import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { GitInfo } from "../store/RunStore.js";

const run = promisify(execFile);

/** Repository, branch, commit and dirty flag of the folder a run was submitted from; undefined outside git. */
export async function readGitInfo(dir: string): Promise<GitInfo | undefined> {
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
