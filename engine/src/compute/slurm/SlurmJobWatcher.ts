import type { SlurmCli, SlurmJobState } from "./SlurmCli.js";

/** One poll's news about a watched job. */
export type JobReport =
  | { readonly kind: "state"; readonly state: SlurmJobState }
  /** The controller no longer knows the job (purged after MinJobAge, or lost with its state). */
  | { readonly kind: "unknown" }
  /** Slurm gave no answer this time (a controller restarting, a timeout): polling goes on. */
  | { readonly kind: "error"; readonly message: string };

/** Polls quickly after a change (a trivial step ends within a poll or two), then backs off to once a second. */
const FIRST_DELAY_MS = 200;
const MAX_DELAY_MS = 1000;
const BACKOFF = 1.5;

/**
 * Follows every job of one target with one squeue call per poll, however many steps run: the
 * controller answers one query for all of them, not one per job (clusters' admins mind this).
 * Polling is brisk after a submit or a change and slows down while nothing moves.
 */
export class SlurmJobWatcher {
  private readonly watched = new Map<string, (report: JobReport) => void>();
  private readonly last = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private delay = FIRST_DELAY_MS;

  constructor(private readonly cli: SlurmCli) {}

  /** Reports on the job at every poll until the returned function is called. */
  watch(id: string, onReport: (report: JobReport) => void): () => void {
    this.watched.set(id, onReport);
    this.poke();
    return () => {
      this.watched.delete(id);
      this.last.delete(id);
    };
  }

  /** Something changed (a submit, a cancel): poll soon. */
  poke(): void {
    this.delay = FIRST_DELAY_MS;
    if (this.polling) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), FIRST_DELAY_MS);
  }

  private async poll(): Promise<void> {
    this.timer = undefined;
    if (this.watched.size === 0) return;
    this.polling = true;
    const ids = [...this.watched.keys()];
    let changed = false;
    try {
      const states = await this.cli.jobs(ids);
      for (const id of ids) {
        const state = states.get(id);
        const seen = state ? `${state.state}|${state.reason}` : "unknown";
        if (this.last.get(id) !== seen) changed = true;
        this.last.set(id, seen);
        this.report(id, state ? { kind: "state", state } : { kind: "unknown" });
      }
    } catch (err) {
      for (const id of ids) this.report(id, { kind: "error", message: err instanceof Error ? err.message : String(err) });
    } finally {
      this.polling = false;
    }
    this.delay = changed ? FIRST_DELAY_MS : Math.min(MAX_DELAY_MS, this.delay * BACKOFF);
    if (this.watched.size > 0 && this.timer === undefined) this.timer = setTimeout(() => void this.poll(), this.delay);
  }

  private report(id: string, report: JobReport): void {
    try {
      this.watched.get(id)?.(report);
    } catch {
      // One step's handler must not stop the others being followed.
    }
  }
}
