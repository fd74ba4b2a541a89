import { isTerminalRunStatus, type RunView } from "../contract/runView.js";
import type { Workspace } from "../workspace/Workspace.js";
import { buildRunView } from "../runner/buildRunView.js";

export interface RunWatch {
  stop(): void;
  /** Settles after the terminal view was delivered, the run is unknown, or stop() was called. */
  readonly done: Promise<void>;
}

/**
 * Follows a run through the store and calls `onView` with each changed view, the current one
 * first, until the run ends. Reading the store (not in-process events) means runs started by any
 * process on the workspace (CLI, kernel, this server) can be followed the same way.
 */
export function watchRun(ws: Workspace, runId: string, onView: (view: RunView) => void, intervalMs = 250): RunWatch {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let last = "";
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const look = async (): Promise<void> => {
    if (stopped) return;
    const view = await buildRunView(ws, runId).catch(() => undefined);
    if (stopped) return;
    if (!view) {
      stopped = true;
      finish();
      return;
    }
    const text = JSON.stringify(view);
    if (text !== last) {
      last = text;
      onView(view);
    }
    if (isTerminalRunStatus(view.status)) {
      stopped = true;
      finish();
      return;
    }
    timer = setTimeout(() => void look(), intervalMs);
  };
  void look();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      finish();
    },
    done,
  };
}
