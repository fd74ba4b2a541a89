import type { RunStore } from "../store/RunStore.js";
import { CliError } from "./CliFailure.js";

/**
 * A run's full id from what a person typed (an id or a unique prefix), or a CliError naming the
 * workspace (none) or the runs it matches (several). `ws` is a RunHistory or a Workspace.
 */
export async function findRun(ws: { readonly dir: string; readonly runs: Pick<RunStore, "resolveRunId"> }, idOrPrefix: string): Promise<string> {
  const ids = ws.runs.resolveRunId(idOrPrefix);
  if (ids.length === 1) return ids[0]!;
  if (ids.length === 0) throw new CliError({ reason: "run-unknown", idOrPrefix, workspace: ws.dir });
  throw new CliError({ reason: "run-ambiguous", idOrPrefix, matches: ids });
}
