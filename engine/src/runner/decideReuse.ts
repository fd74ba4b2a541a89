import { existsSync } from "node:fs";
import type { Workspace } from "../workspace/Workspace.js";
import type { Decision, StepRef } from "../explain/Decision.js";
import { diffKeys } from "../fingerprint/diffKeys.js";
import { hashTree } from "../fingerprint/hashTree.js";
import type { KeyComponents } from "../fingerprint/KeyComponents.js";
import type { OutputRow, StepRunRow } from "../store/RunStore.js";

export interface ReuseQuery {
  readonly ws: Workspace;
  readonly runId: string;
  readonly experiment: string;
  readonly stepName: string;
  /** The step's key, made on first use: a step that runs whatever the store holds needs none to be decided. */
  readonly key: () => { readonly digest: string; readonly components: KeyComponents };
  readonly allowReuse: boolean;
  readonly regenerateOutputs: boolean;
}

export type ReuseVerdict =
  | { readonly reuse: true; readonly decision: Decision & { reason: "reused" }; readonly origin: StepRunRow; readonly outputs: readonly OutputRow[] }
  | { readonly reuse: false; readonly decision: Decision };

/**
 * Where reuse is decided. A matching key is not enough: the earlier outputs must still exist
 * and hash to what was recorded (a deleted or edited output is never served, unlike
 * kubeflow#4947); a hit that fails verification reruns the step instead of failing the run
 * (flyte#4672). Every outcome says why, by comparing with the closest earlier run.
 */
export async function decideReuse(q: ReuseQuery): Promise<ReuseVerdict> {
  if (q.regenerateOutputs) return { reuse: false, decision: { reason: "regenerate-outputs" } };
  if (!q.allowReuse) return { reuse: false, decision: { reason: "allow-reuse-false" } };
  const { digest, components } = q.key();
  let rejected: { ref: StepRef; problems: string[] } | undefined;
  for (const candidate of q.ws.runs.findByKey(digest)) {
    const outputs = q.ws.runs.getOutputs(candidate.id);
    const problems = await verifyOutputs(q.ws, outputs);
    const ref = refOf(q.ws, candidate);
    if (problems.length === 0) return { reuse: true, decision: { reason: "reused", from: ref }, origin: candidate, outputs };
    rejected ??= { ref, problems };
  }
  if (rejected) return { reuse: false, decision: { reason: "outputs-invalid", from: rejected.ref, problems: rejected.problems } };
  const previous = q.ws.runs.findPrevious(q.stepName, q.experiment, q.runId);
  if (!previous?.keyComponents) return { reuse: false, decision: { reason: "first-run" } };
  const ref = refOf(q.ws, previous);
  if (previous.keyDigest === digest) {
    return { reuse: false, decision: { reason: "previous-incomplete", comparedWith: ref, status: previous.status } };
  }
  return { reuse: false, decision: { reason: "key-changed", comparedWith: ref, changes: diffKeys(previous.keyComponents, components) } };
}

async function verifyOutputs(ws: Workspace, outputs: readonly OutputRow[]): Promise<string[]> {
  const problems: string[] = [];
  for (const o of outputs) {
    // One stat, synchronously: an asynchronous one is a thread-pool round trip per output.
    if (!existsSync(o.path)) {
      problems.push(`output "${o.name}" no longer exists at ${o.path}`);
      continue;
    }
    const tree = await hashTree(o.path, { cache: ws.statCache, pool: ws.hashPool });
    if (tree.digest !== o.digest) problems.push(`output "${o.name}" was modified after it was produced (content hash differs)`);
  }
  return problems;
}

function refOf(ws: Workspace, row: StepRunRow): StepRef {
  return { stepRunId: row.id, runId: row.runId, experiment: ws.runs.experimentOfRun(row.runId) };
}
