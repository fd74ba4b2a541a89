import type { ComputeTargetConfig } from "../dsl/workspaceConfigSchema.js";

/**
 * What of a target's settings enters its steps' reuse keys (Compute.keyFields): its kind, and for
 * a pool of agents its labels, since agents of one pool are interchangeable by definition. A
 * target's host, socket or cluster do not change what a step computes.
 */
export function targetKeyFields(config: ComputeTargetConfig): Record<string, unknown> {
  return config.kind === "remote" ? { kind: config.kind, labels: config.labels } : { kind: config.kind };
}
