import type { KeyChange } from "../fingerprint/diffKeys.js";

/** A step run elsewhere in the workspace that a decision refers to. */
export interface StepRef {
  readonly stepRunId: string;
  readonly runId: string;
  readonly experiment: string;
}

/**
 * Why a step ran, was reused or did not run. Stored with every step run and turned into a
 * sentence by formatDecision, the one place that words it.
 */
export type Decision =
  | { readonly reason: "reused"; readonly from: StepRef }
  | { readonly reason: "first-run" }
  | { readonly reason: "key-changed"; readonly comparedWith: StepRef; readonly changes: readonly KeyChange[] }
  | { readonly reason: "previous-incomplete"; readonly comparedWith: StepRef; readonly status: string }
  | { readonly reason: "allow-reuse-false" }
  | { readonly reason: "regenerate-outputs" }
  | { readonly reason: "outputs-invalid"; readonly from: StepRef; readonly problems: readonly string[] }
  | { readonly reason: "upstream-failed"; readonly upstream: string }
  | { readonly reason: "run-canceled" };
