import type { RunStatus } from "../contract/runView.js";
import type { MetricRow, OutputRow, StepUpdate } from "../store/RunStore.js";

/**
 * One change to a run as the run's process makes it. The recorder writes it to the store (the
 * truth for every other process) and the live view applies it in memory (the truth for this one,
 * even while a full disk refuses writes).
 */
export type RunChange =
  | { readonly type: "run"; readonly status: RunStatus; readonly at: string; readonly error?: string }
  | { readonly type: "step"; readonly step: string; readonly update: StepUpdate; readonly outputs?: readonly OutputRow[] }
  | { readonly type: "metrics"; readonly step: string; readonly rows: readonly MetricRow[] }
  /** Output of a step; the files are written by StepLogs, so the store ignores this. */
  | { readonly type: "log"; readonly step: string; readonly text: string };
