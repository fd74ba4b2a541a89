import type { GitInfo } from "../store/RunStore.js";

/** `git` arguments after `-C ROOT`: commit, branch and changed files in one process (parseGitStatus reads them). */
export const GIT_STATUS_ARGS: readonly string[] = ["status", "--porcelain=v2", "--branch"];

/** Commit, branch and dirty flag from `git status --porcelain=v2 --branch` (a status cut short by its size is dirty). */
export function parseGitStatus(repo: string, out: string, overflowed: boolean): GitInfo | undefined {
  let commit: string | undefined;
  let branch = "";
  let dirty = overflowed;
  for (const line of out.split("\n")) {
    if (line.startsWith("# branch.oid ")) commit = line.slice("# branch.oid ".length).trim();
    else if (line.startsWith("# branch.head ")) branch = line.slice("# branch.head ".length).trim();
    else if (line !== "" && !line.startsWith("#")) dirty = true;
  }
  // A repository without a commit yet has nothing to tie a run to.
  if (commit === undefined || commit === "(initial)") return undefined;
  return { repo, branch, commit, dirty };
}
