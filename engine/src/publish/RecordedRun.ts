import type { RunStatus, RunView } from "../contract/runView.js";
import type { Workspace } from "../workspace/Workspace.js";
import { buildRunView } from "../runner/buildRunView.js";
import { PublishError } from "./PublishError.js";
import { PublishedPipeline, type PublishOptions } from "./PublishedPipeline.js";

/**
 * A run read back from the store (`PipelineRun.get`): what can still be done with a run once the
 * process that executed it is gone, or from another process (a kernel, the server): look at it
 * and publish its pipeline.
 */
export class RecordedRun {
  private constructor(
    readonly workspace: Workspace,
    readonly id: string,
    readonly experiment: string,
  ) {}

  static get(ws: Workspace, runId: string): Promise<RecordedRun> {
    const run = ws.runs.getRun(runId);
    if (!run) return Promise.reject(new PublishError({ reason: "run-not-found", runId }));
    return Promise.resolve(new RecordedRun(ws, run.id, run.experiment));
  }

  get status(): RunStatus {
    return this.workspace.runs.getRun(this.id)?.status ?? "failed";
  }

  async view(): Promise<RunView> {
    const v = await buildRunView(this.workspace, this.id);
    if (!v) throw new PublishError({ reason: "run-not-found", runId: this.id });
    return v;
  }

  publishPipeline(options: PublishOptions): Promise<PublishedPipeline> {
    return PublishedPipeline.fromRun(this.workspace, this.id, options);
  }
}
