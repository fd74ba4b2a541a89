import { isTerminalRunStatus } from "../contract/runView.js";
import type { PipelineRun } from "../runner/PipelineRun.js";
import { HttpError } from "./HttpError.js";

/**
 * The server's bound on work: runs it accepted and that have not finished (queued or running),
 * plus submissions being created. Over the bound a submission is refused with 429 and a
 * Retry-After estimated from how long recent runs took, so callers back off instead of the
 * machine drowning in processes. Runs started elsewhere (CLI, notebooks) do not count.
 */
export class RunQueue {
  private readonly active = new Map<string, PipelineRun>();
  private creating = 0;
  /** Moving average of run durations (ms), for Retry-After. */
  private avgMs = 1000;
  private accepted = 0;
  private refused = 0;

  constructor(readonly limit: number) {
    if (!(Number.isInteger(limit) && limit >= 1)) throw new Error(`run queue limit must be a whole number ≥ 1, got ${limit}`);
  }

  get size(): number {
    return this.active.size + this.creating;
  }

  get stats(): { active: number; limit: number; accepted: number; refused: number } {
    return { active: this.size, limit: this.limit, accepted: this.accepted, refused: this.refused };
  }

  get(runId: string): PipelineRun | undefined {
    return this.active.get(runId);
  }

  /** Takes a slot (or throws 429), creates the run, and frees the slot when the run ends. */
  async submit(create: () => Promise<PipelineRun>): Promise<PipelineRun> {
    if (this.size >= this.limit) {
      this.refused++;
      const retry = Math.max(1, Math.min(60, Math.ceil(this.avgMs / 1000)));
      throw new HttpError(429, `the server is running ${this.active.size} runs, its limit; retry in ${retry}s`, { headers: { "Retry-After": String(retry) } });
    }
    this.creating++;
    let run: PipelineRun;
    try {
      run = await create();
    } finally {
      this.creating--;
    }
    this.accepted++;
    const started = Date.now();
    this.active.set(run.id, run);
    const done = (): void => {
      if (!this.active.delete(run.id)) return;
      this.avgMs = this.avgMs * 0.8 + (Date.now() - started) * 0.2;
    };
    run.onEvent((e) => {
      if (e.type === "run-status" && isTerminalRunStatus(e.status)) done();
    });
    if (isTerminalRunStatus(run.status)) done();
    return run;
  }

  /** Cancels every active run and waits for them to settle (server shutdown). */
  async drain(): Promise<void> {
    const runs = [...this.active.values()];
    runs.forEach((r) => r.cancel());
    await Promise.all(runs.map((r) => r.waitForCompletion().catch(() => undefined)));
  }
}
