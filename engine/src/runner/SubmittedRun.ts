import type { DownloadOutputsOptions, DownloadReport } from "../artifacts/outputDownload.js";
import type { RunHandle } from "../contract/runHandle.js";
import type { RunView, StepView } from "../contract/runView.js";
import type { PublishedPipeline, PublishOptions } from "../publish/PublishedPipeline.js";
import type { RunEvent } from "./RunEvent.js";

/**
 * What `experiment.submit` gives back, wherever the run executes: a PipelineRun when this
 * process runs it, a RemoteRun (remote/) when a `pipebook serve` does and this process follows
 * its live feed. Notebooks, scripts and the CLI use only this.
 */
export interface SubmittedRun extends RunHandle {
  readonly experiment: string;
  /** Status changes, log lines and metrics as they happen (a remote run's as its feed shows them). */
  onEvent(listener: (e: RunEvent) => void): () => void;
  getSteps(): Promise<readonly StepView[]>;
  waitForCompletion(options?: { showOutput?: boolean }): Promise<RunView>;
  publishPipeline(options: PublishOptions): Promise<PublishedPipeline>;
  /** The run's outputs to `dest/<step>/<output>/…`, only what is not there already (a remote run's over the server's blob routes). */
  downloadOutputs(dest: string, options?: DownloadOutputsOptions): Promise<DownloadReport>;
}
