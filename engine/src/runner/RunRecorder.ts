import type { Workspace } from "../workspace/Workspace.js";
import { unreachable } from "../errors/PipebookError.js";
import type { RunChange } from "./RunChange.js";
import { stepRunIdOf } from "../store/RunStore.js";

/**
 * The store as the sink of a run's changes. A change written `strictly` throws when the store
 * refuses it (the caller must not go on as if it were recorded: a running step the store does
 * not know of could not be stopped after a crash). Other changes must not stop the run: with a
 * full disk every write fails and the run must still end, so a refused change is kept and
 * replayed, in order, once the store takes writes again; if this process dies first, orphan
 * recovery marks the run failed. Every change reaches `observe` (the live view) either way.
 */
export class RunRecorder {
  private readonly unrecorded: RunChange[][] = [];
  /** The first write the store refused, reported with the run's end. */
  storeError: string | undefined;

  constructor(
    private readonly ws: Workspace,
    private readonly runId: string,
    private readonly observe: (c: RunChange) => void,
  ) {}

  /** Records changes together (atomically); throws on a refused write. */
  strictly(...changes: RunChange[]): void {
    this.writeTogether(changes);
    changes.forEach(this.observe);
  }

  /** Records changes together; a refused write is kept for later and reported at the run's end. */
  record(...changes: RunChange[]): void {
    try {
      if (this.unrecorded.length > 0) throw new Error("earlier writes are still pending");
      this.writeTogether(changes);
    } catch (err) {
      this.storeError ??= err instanceof Error ? err.message : String(err);
      this.unrecorded.push(changes);
    }
    changes.forEach(this.observe);
  }

  /** A change the store does not keep (log text: StepLogs writes the files): the live view only. */
  observeOnly(change: RunChange): void {
    this.observe(change);
  }

  /** Replays refused writes every 2 s for up to 10 minutes, once the run has ended. */
  repairLater(): void {
    if (this.unrecorded.length === 0) return;
    const started = Date.now();
    const timer = setInterval(() => {
      try {
        this.ws.runs.transaction(() => this.unrecorded.flat().forEach((c) => this.write(c)));
        clearInterval(timer);
      } catch {
        if (Date.now() - started > 600_000) clearInterval(timer);
      }
    }, 2000);
    timer.unref();
  }

  /**
   * Writes changes atomically. A change the store keeps in one statement (or in a transaction of
   * its own, like metrics) commits by itself: an explicit transaction around it only adds BEGIN and
   * COMMIT, which for a step's "running" write is a good part of its cost.
   */
  private writeTogether(changes: readonly RunChange[]): void {
    const only = changes.length === 1 ? changes[0]! : undefined;
    if (only && !(only.type === "step" && only.outputs)) this.write(only);
    else this.ws.runs.transaction(() => changes.forEach((c) => this.write(c)));
  }

  private write(c: RunChange): void {
    const { runs } = this.ws;
    switch (c.type) {
      case "run":
        return runs.setRunStatus(this.runId, c.status, c.at, c.error);
      case "step": {
        const id = stepRunIdOf(this.runId, c.step);
        if (c.outputs) runs.recordOutputs(id, c.outputs);
        return runs.updateStep(id, c.update);
      }
      case "metrics":
        return runs.addMetrics(this.runId, stepRunIdOf(this.runId, c.step), c.rows);
      case "log":
        return; // StepLogs writes the files.
      default:
        return unreachable(c);
    }
  }
}
