import { EXPERIMENT_PATTERN } from "../contract/names.js";
import { DeclarationError } from "./DeclarationFailure.js";
import type { SubmitOptions } from "../runner/PipelineRun.js";
import type { SubmittedRun } from "../runner/SubmittedRun.js";
import type { RunRow } from "../store/RunStore.js";
import type { Pipeline } from "./Pipeline.js";
import type { Workspace } from "../workspace/Workspace.js";

/** A named group of runs, as in the seeds. */
export class Experiment {
  constructor(
    readonly workspace: Workspace,
    readonly name: string,
  ) {
    if (!EXPERIMENT_PATTERN.test(name)) {
      throw new DeclarationError({ reason: "experiment-name-invalid", name });
    }
  }

  /** Validates, snapshots and records the run, then returns while the steps run. */
  submit(pipeline: Pipeline, options: SubmitOptions = {}): Promise<SubmittedRun> {
    if (pipeline.workspace !== this.workspace) {
      throw new DeclarationError({ reason: "workspace-mismatch", pipelineWorkspace: pipeline.workspace.name, experimentWorkspace: this.workspace.name });
    }
    return this.workspace.services.submit(this.name, pipeline, options);
  }

  listRuns(limit = 50): RunRow[] {
    this.workspace.requireLocal(`listing the runs of experiment ${this.name} through the SDK`);
    return this.workspace.runs.listRuns({ experiment: this.name, limit });
  }
}
