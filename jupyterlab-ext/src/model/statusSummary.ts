import type { RunView, StepStatus } from "pipebook/contract";

/**
 * Where each status's count stands in a run's header line. A record over the contract's
 * statuses, so a status added there is a type error here until it has a place.
 */
const PLACE: { readonly [S in StepStatus]: number } = { running: 0, queued: 1, completed: 2, reused: 3, failed: 4, skipped: 5, canceled: 6 };

/** Order in which counts are listed in a run's header line. */
export const STATUS_ORDER: readonly StepStatus[] = (Object.keys(PLACE) as StepStatus[]).sort((a, b) => PLACE[a] - PLACE[b]);

/** Step counts per status, in STATUS_ORDER, leaving out zeros: [["completed", 3], ["reused", 2]]. */
export function countByStatus(run: RunView): [StepStatus, number][] {
  const counts = new Map<StepStatus, number>();
  for (const step of run.steps) {
    counts.set(step.status, (counts.get(step.status) ?? 0) + 1);
  }
  return STATUS_ORDER.filter((status) => counts.has(status)).map((status) => [status, counts.get(status) ?? 0]);
}
