import type { PublishedPipelineReply } from "../contract/rest.js";
import { randomUUID } from "node:crypto";
import type { ParameterValue } from "../contract/runView.js";
import type { Pipeline } from "../dsl/Pipeline.js";
import type { Workspace } from "../workspace/Workspace.js";
import { Experiment } from "../dsl/Experiment.js";
import { PipelineRun, type SubmitOptions } from "../runner/PipelineRun.js";
import { prepareStep, printPrepareProgress, submitScope } from "../runner/prepareStep.js";
import type { PipelineSpec } from "../spec/PipelineSpec.js";
import { toPipelineSpec } from "../spec/specCodec.js";
import { checkName, checkVersion } from "./names.js";
import { PublishError } from "./PublishError.js";
import { PublishStore, type PublishedPipelineRow } from "../store/PublishStore.js";

export interface PublishOptions {
  readonly name: string;
  readonly description?: string;
  readonly version?: string;
}

export interface PublishedSubmitOptions {
  readonly parameterAssignments?: Readonly<Record<string, unknown>>;
  readonly regenerateOutputs?: boolean;
  readonly source?: SubmitOptions["source"];
  /** Record the run now, start it when this settles (a server's queue); see SubmitOptions. */
  readonly startWhen?: Promise<unknown>;
  /** The endpoint version the run was asked through, recorded with the run. */
  readonly via?: { readonly endpoint: string; readonly version: string };
  /** The run's id, chosen before submit (see SubmitOptions.runId). */
  readonly runId?: string;
}

/**
 * An immutable published pipeline (the seeds' `PublishedPipeline`): the spec of a run (steps,
 * their source snapshots, parameters with defaults) kept under a name and version, runnable
 * again without the notebook or script that built it. Only `enabled` ever changes.
 */
export class PublishedPipeline {
  private constructor(
    readonly workspace: Workspace,
    private row: PublishedPipelineRow,
  ) {}

  get id(): string {
    return this.row.id;
  }
  get name(): string {
    return this.row.name;
  }
  get description(): string {
    return this.row.description;
  }
  get version(): string {
    return this.row.version;
  }
  get sourceRunId(): string | null {
    return this.row.sourceRunId;
  }
  get enabled(): boolean {
    return this.row.enabled;
  }
  get createdAt(): string {
    return this.row.createdAt;
  }
  get spec(): PipelineSpec {
    return this.row.spec;
  }
  /** The parameters a caller may assign, with their defaults (which also give their types). */
  get parameters(): readonly { readonly name: string; readonly defaultValue: ParameterValue }[] {
    return this.row.spec.parameters;
  }
  /** REST path to POST runs to, relative to a `pipebook serve` base URL. */
  get endpoint(): string {
    return `/pipelines/${encodeURIComponent(this.row.id)}/runs`;
  }

  /** Publishes the pipeline a stored run executed (its spec, snapshots included). */
  static async fromRun(ws: Workspace, runId: string, options: PublishOptions): Promise<PublishedPipeline> {
    const run = ws.runs.getRun(runId);
    if (!run) throw new PublishError({ reason: "run-not-found", runId });
    return PublishedPipeline.store(ws, run.graph.spec, runId, options);
  }

  /** Publishes a pipeline object without running it: its steps are validated and snapshotted now. */
  static async publish(pipeline: Pipeline, options: PublishOptions): Promise<PublishedPipeline> {
    const graph = pipeline.validate();
    const scope = submitScope();
    const prepared = await Promise.all(graph.steps.map((s) => prepareStep(pipeline.workspace, s, printPrepareProgress, scope)));
    return PublishedPipeline.store(pipeline.workspace, toPipelineSpec(pipeline, prepared), null, options);
  }

  static get(ws: Workspace, id: string): Promise<PublishedPipeline> {
    const row = PublishStore.of(ws).getPipeline(id);
    if (!row) return Promise.reject(new PublishError({ reason: "pipeline-not-found", id }));
    return Promise.resolve(new PublishedPipeline(ws, row));
  }

  /** Enabled pipelines, newest first; disabled ones only when asked (they are hidden from lists). */
  static list(ws: Workspace, options: { includeDisabled?: boolean } = {}): PublishedPipeline[] {
    return PublishStore.of(ws).listPipelines(options.includeDisabled ?? false).map((row) => new PublishedPipeline(ws, row));
  }

  disable(): Promise<void> {
    return this.setEnabled(false);
  }

  enable(): Promise<void> {
    return this.setEnabled(true);
  }

  /** Runs the pipeline again from its snapshots; a disabled pipeline refuses. */
  async submit(experimentName: string, options: PublishedSubmitOptions = {}): Promise<PipelineRun> {
    const current = PublishStore.of(this.workspace).getPipeline(this.id);
    if (!current) throw new PublishError({ reason: "pipeline-not-found", id: this.id });
    this.row = current;
    if (!current.enabled) throw new PublishError({ reason: "pipeline-disabled", id: current.id, name: current.name });
    const experiment = new Experiment(this.workspace, experimentName);
    const run = await PipelineRun.submitSpec(this.workspace, experiment.name, current.spec, {
      source: options.source ?? "sdk",
      ...(options.parameterAssignments !== undefined && { parameterAssignments: options.parameterAssignments }),
      ...(options.regenerateOutputs !== undefined && { regenerateOutputs: options.regenerateOutputs }),
      ...(options.startWhen !== undefined && { startWhen: options.startWhen }),
      ...(options.runId !== undefined && { runId: options.runId }),
      // The code is the snapshot's: its git facts are those of the run it was published from,
      // not of whatever tree the server or scheduler happens to run in.
      git: current.sourceRunId === null ? null : (this.workspace.runs.getRun(current.sourceRunId)?.git ?? null),
    });
    PublishStore.of(this.workspace).recordRun(run.id, current.id, options.via, new Date().toISOString());
    return run;
  }

  /** Runs of this pipeline (through any endpoint, the SDK, the CLI or REST), newest first. */
  runIds(limit = 50): string[] {
    return PublishStore.of(this.workspace).runsOf({ pipelineId: this.id }, limit).map((r) => r.runId);
  }

  /** The JSON shape used by REST and the CLI. */
  toJSON(): PublishedPipelineReply {
    return {
      id: this.id, name: this.name, version: this.version, description: this.description, enabled: this.enabled,
      createdAt: this.createdAt, sourceRunId: this.sourceRunId, endpoint: this.endpoint,
      parameters: this.parameters, steps: this.spec.steps.map((s) => s.name),
    };
  }

  private setEnabled(enabled: boolean): Promise<void> {
    if (!PublishStore.of(this.workspace).setPipelineEnabled(this.id, enabled)) return Promise.reject(new PublishError({ reason: "pipeline-not-found", id: this.id }));
    this.row = { ...this.row, enabled };
    return Promise.resolve();
  }

  private static store(ws: Workspace, spec: PipelineSpec, sourceRunId: string | null, options: PublishOptions): PublishedPipeline {
    const row: PublishedPipelineRow = {
      id: randomUUID(),
      name: checkName("name", options.name),
      description: options.description ?? "",
      version: checkVersion("version", options.version ?? "1.0"),
      sourceRunId,
      spec,
      enabled: true,
      createdAt: new Date().toISOString(),
    };
    PublishStore.of(ws).insertPipeline(row);
    return new PublishedPipeline(ws, row);
  }
}
