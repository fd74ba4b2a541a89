import type { RunView, StepStatus } from "pipebook/contract";

/** Order in which counts are listed in a run's header line. */
export const STATUS_ORDER: readonly StepStatus[] = ["running", "queued", "completed", "reused", "failed", "skipped", "canceled"];

/** Step counts per status, in STATUS_ORDER, leaving out zeros: [["completed", 3], ["reused", 2]]. */
export function countByStatus(run: RunView): [StepStatus, number][] {
  const counts = new Map<StepStatus, number>();
  for (const step of run.steps) {
    counts.set(step.status, (counts.get(step.status) ?? 0) + 1);
  }
  return STATUS_ORDER.filter((status) => counts.has(status)).map((status) => [status, counts.get(status) ?? 0]);
}
