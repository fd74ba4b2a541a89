import type { RunStatus, RunView } from "./runView.js";

/**
 * What a notebook needs of a submitted run, and how it finds out about submits. The kernel and
 * the user's cells may load two copies of pipebook (the kernel's and the notebook folder's), so
 * both the registry and the run mark are kept under registered symbols, never recognised by class.
 */
export interface RunHandle {
  readonly id: string;
  readonly status: RunStatus;
  view(): Promise<RunView> | RunView;
  /** Calls `listener` with each new view; returns the unsubscribe function. */
  onUpdate(listener: (view: RunView) => void): () => void;
  /** Stops its running steps and skips the rest; the run ends `canceled`. */
  cancel(): void;
  /** Resolves with the final view once the run has ended. */
  waitForCompletion(): Promise<RunView>;
}

/** Set to true on every run handle (`PipelineRun`), whichever copy of pipebook made it. */
export const RUN_HANDLE: unique symbol = Symbol.for("pipebook.runHandle") as never;

/** Objects that show themselves in a notebook implement this method (like IPython's `_repr_mimebundle_`). */
export const MIME_BUNDLE: unique symbol = Symbol.for("pipebook.mimeBundle") as never;

export function isRunHandle(v: unknown): v is RunHandle {
  return typeof v === "object" && v !== null && (v as Record<symbol, unknown>)[RUN_HANDLE] === true;
}

type Listener = (run: RunHandle) => void;
const SUBMISSIONS = Symbol.for("pipebook.submissions");

function listeners(): Set<Listener> {
  const g = globalThis as unknown as Record<symbol, Set<Listener> | undefined>;
  return (g[SUBMISSIONS] ??= new Set<Listener>());
}

/** Calls `listener` for every run submitted in this process; returns the unsubscribe function. */
export function observeSubmissions(listener: Listener): () => void {
  listeners().add(listener);
  return () => listeners().delete(listener);
}

export function notifySubmission(run: RunHandle): void {
  for (const l of listeners()) {
    try {
      l(run);
    } catch {
      // An observer's failure must not fail the user's submit.
    }
  }
}
