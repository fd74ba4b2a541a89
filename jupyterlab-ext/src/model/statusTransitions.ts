import type { RunView, StepStatus } from "pipebook/contract";

/** One step changing status between two consecutive views of the same run. */
export interface StepTransition {
  readonly step: string;
  /** `undefined` when the step was not in the previous view (first view, or a new run in the same output). */
  readonly from: StepStatus | undefined;
  readonly to: StepStatus;
}

/**
 * Which status a step may move to next. The engine only moves forward; a view that moves a
 * step backwards (completed → running) is an older view delivered late (an SSE reconnect
 * replaying, or two displays racing) and must not repaint a finished step as running.
 */
const NEXT: Readonly<Record<StepStatus, readonly StepStatus[]>> = {
  // Views may be coalesced (the kernel throttles display updates), so a fast step can go
  // from queued straight to any end state.
  queued: ["running", "completed", "failed", "reused", "skipped", "canceled"],
  running: ["completed", "failed", "canceled"],
  completed: [],
  failed: [],
  reused: [],
  skipped: [],
  canceled: [],
};

export function isLegalTransition(from: StepStatus, to: StepStatus): boolean {
  return from === to || NEXT[from].includes(to);
}

export type UpdateDecision =
  | { readonly kind: "new-run"; readonly transitions: readonly StepTransition[] }
  | { readonly kind: "update"; readonly transitions: readonly StepTransition[] }
  | { readonly kind: "stale"; readonly step: string; readonly from: StepStatus; readonly to: StepStatus };

/**
 * Compares the view on screen with the next one. A different run id starts over; the same run
 * id must only move steps forward, otherwise the whole next view is stale and is dropped
 * (mixing steps from two views would show a state the engine never had).
 */
export function decideUpdate(previous: RunView | undefined, next: RunView): UpdateDecision {
  if (previous === undefined || previous.runId !== next.runId) {
    return { kind: "new-run", transitions: next.steps.map((step) => ({ step: step.name, from: undefined, to: step.status })) };
  }
  const before = new Map(previous.steps.map((step) => [step.name, step.status]));
  const transitions: StepTransition[] = [];
  for (const step of next.steps) {
    const from = before.get(step.name);
    if (from === undefined) {
      transitions.push({ step: step.name, from: undefined, to: step.status });
      continue;
    }
    if (!isLegalTransition(from, step.status)) {
      return { kind: "stale", step: step.name, from, to: step.status };
    }
    if (from !== step.status) {
      transitions.push({ step: step.name, from, to: step.status });
    }
  }
  return { kind: "update", transitions };
}
