/**
 * The run view: the one shape that the engine produces, the kernel sends as the
 * `application/vnd.pipebook.run+json` MIME payload, the REST server returns, and the
 * JupyterLab extension draws. It lives here, free of Node imports, so the browser
 * bundle can import it and the three sides cannot drift apart.
 */

/** MIME type of a live run display in notebooks. */
export const RUN_MIME_TYPE = "application/vnd.pipebook.run+json";

/** Bumped whenever a field changes meaning; renderers refuse versions they do not know. */
export const RUN_VIEW_VERSION = 1;

export type RunStatus = "queued" | "running" | "completed" | "failed" | "canceled";
export const RUN_STATUSES: readonly RunStatus[] = ["queued", "running", "completed", "failed", "canceled"];

/**
 * `skipped`: not started because an upstream step failed or the run was canceled first.
 * `reused`: an earlier step run's verified outputs were taken instead of running.
 */
export type StepStatus =
  | "queued"
  | "running"
  | "completed"
  | "failed"
  | "reused"
  | "skipped"
  | "canceled";

/** What a step's process runs: a Python or Node script, or a command. */
export type ProgramKind = "python" | "command" | "node";
/** A step's kind: a program, or a transfer between datastores that the engine itself makes (DataTransferStep). */
export type StepKind = ProgramKind | "data-transfer";

export type ParameterValue = string | number | boolean;

export interface MetricPoint {
  /** Position in the series: the order in which the step logged it. */
  readonly index: number;
  readonly value: number | string;
}

export interface MetricView {
  readonly name: string;
  /** One point for a scalar metric, several for a series (a loss curve). */
  readonly points: readonly MetricPoint[];
}

export type OutputPreview =
  | { readonly kind: "table"; readonly columns: readonly string[]; readonly rows: readonly (readonly string[])[]; readonly truncated: boolean }
  | { readonly kind: "text"; readonly text: string; readonly truncated: boolean }
  | { readonly kind: "json"; readonly value: unknown }
  | { readonly kind: "image"; readonly mime: string; readonly base64: string }
  | { readonly kind: "files"; readonly entries: readonly { readonly path: string; readonly size: number }[]; readonly truncated: boolean };

export interface OutputView {
  /** The PipelineData name. */
  readonly name: string;
  /** Content hash of the output folder, once the step finished. */
  readonly hash?: string;
  /** Absolute path in the workspace where the output lives (readable by the kernel side). */
  readonly path?: string;
  /** A small preview of the first file in the output, for the notebook to show. */
  readonly preview?: OutputPreview;
}

export interface ReusedFrom {
  readonly runId: string;
  readonly stepRunId: string;
  readonly experiment: string;
}

export interface StepView {
  readonly name: string;
  readonly stepRunId: string;
  readonly status: StepStatus;
  readonly kind: StepKind;
  readonly compute: string;
  /** Names of the data this step reads / writes (edges are derived from them). */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly startedAt?: string;
  readonly endedAt?: string;
  readonly durationMs?: number;
  readonly exitCode?: number;
  /** Set when status is failed, canceled or skipped: the sentence a person reads. */
  readonly error?: string;
  readonly reusedFrom?: ReusedFrom;
  /** One line saying why the step ran or was reused ("parameter learning_rate changed 0.01 → 0.1"). */
  readonly why?: string;
  readonly metrics: readonly MetricView[];
  readonly outputViews: readonly OutputView[];
  /** The last lines of stdout+stderr (the full log is read through the engine or REST). */
  readonly logTail?: string;
}

export interface EdgeView {
  readonly from: string;
  readonly to: string;
  /** The data name that creates the dependency. */
  readonly data: string;
}

/**
 * Data the run reads from outside its steps, or registers, drawn as a node of its own: a dataset
 * input (a registered version, or files named by path), a DataReference to a file or folder on
 * a datastore, or a step output registered as a dataset version (registerOnComplete).
 */
export interface DataNodeView {
  /** Unique in the view and never a step's name: the input's data name, or `NAME vN` for a registered output. */
  readonly id: string;
  readonly kind: "dataset" | "datastore" | "registered";
  /** The node's first line: the dataset's name, or the data reference's. */
  readonly name: string;
  /** Its second line: the version, or the path of the files on their datastore ("v3", "raw/*.csv"). */
  readonly detail: string;
  /** The datastore those files are on (inputs named by path). */
  readonly datastore?: string;
  /** The registered dataset version it is, whose profile a person can open. */
  readonly dataset?: { readonly name: string; readonly version: number };
  /** Steps that read it (inputs); the step that wrote it (a registered output). */
  readonly readBy: readonly string[];
  readonly writtenBy?: string;
}

export interface RunView {
  readonly version: typeof RUN_VIEW_VERSION;
  readonly runId: string;
  readonly experiment: string;
  readonly status: RunStatus;
  readonly createdAt: string;
  readonly endedAt?: string;
  readonly error?: string;
  readonly parameters: Readonly<Record<string, ParameterValue>>;
  readonly steps: readonly StepView[];
  readonly edges: readonly EdgeView[];
  /** Datasets, datastore inputs and registered outputs (absent from views of older engines: no data nodes). */
  readonly data?: readonly DataNodeView[];
}

/** True once nothing in the run can change any more. */
export function isTerminalRunStatus(status: RunStatus): boolean {
  return status === "completed" || status === "failed" || status === "canceled";
}

export function isTerminalStepStatus(status: StepStatus): boolean {
  return status !== "queued" && status !== "running";
}
