import type { PipelineRun } from "./PipelineRun.js";

type Listener = (run: PipelineRun) => void;

/**
 * Kept on globalThis under a registered symbol: the kernel and the user's cells may load two
 * copies of pipebook (the kernel's and the notebook folder's), and both must see every submit.
 */
const KEY = Symbol.for("pipebook.submissions");

function listeners(): Set<Listener> {
  const g = globalThis as unknown as Record<symbol, Set<Listener> | undefined>;
  return (g[KEY] ??= new Set<Listener>());
}

/** Calls `listener` for every run submitted in this process; returns the unsubscribe function. */
export function observeSubmissions(listener: Listener): () => void {
  listeners().add(listener);
  return () => listeners().delete(listener);
}

export function notifySubmission(run: PipelineRun): void {
  for (const l of listeners()) {
    try {
      l(run);
    } catch {
      // An observer's failure must not fail the user's submit.
    }
  }
}
