import type { PipelineEndpointReply } from "../contract/rest.js";
import type { Workspace } from "../workspace/Workspace.js";
import type { PipelineRun } from "../runner/PipelineRun.js";
import { checkName } from "./names.js";
import { PublishError } from "./PublishError.js";
import { PublishedPipeline, type PublishedSubmitOptions } from "./PublishedPipeline.js";
import { PublishStore, type EndpointRow, type EndpointVersionRow } from "../store/PublishStore.js";

export interface EndpointSubmitOptions extends PublishedSubmitOptions {
  /** "0", "1", …; the endpoint's default version when left out. */
  readonly pipelineVersion?: string;
}

/**
 * A fixed, named endpoint (the seeds' `PipelineEndpoint`) with published pipelines behind it as
 * versions "0", "1", …, and one default version that callers get when they name none. Callers
 * keep one URL while the pipeline behind it is iterated on.
 */
export class PipelineEndpoint {
  private constructor(
    readonly workspace: Workspace,
    private row: EndpointRow,
  ) {}

  get name(): string {
    return this.row.name;
  }
  get description(): string {
    return this.row.description;
  }
  get defaultVersion(): string {
    return this.row.defaultVersion;
  }
  get versions(): readonly EndpointVersionRow[] {
    return this.row.versions;
  }
  /** REST path to POST runs to (add `?version=N` for a version other than the default). */
  get endpoint(): string {
    return `/endpoints/${encodeURIComponent(this.row.name)}/runs`;
  }

  /**
   * Creates the endpoint with `pipeline` as version "0". When the endpoint already exists, the
   * pipeline is added as its next version and becomes the default (what re-publishing from a
   * notebook means); use `add` to add a version without changing the default.
   */
  static async publish(ws: Workspace, options: { name: string; pipeline: PublishedPipeline; description?: string }): Promise<PipelineEndpoint> {
    checkName("name", options.name);
    const store = PublishStore.of(ws);
    store.addEndpointVersion(options.name, options.description ?? "", options.pipeline.id, true, new Date().toISOString());
    return PipelineEndpoint.get(ws, options.name);
  }

  static get(ws: Workspace, name: string): Promise<PipelineEndpoint> {
    const row = PublishStore.of(ws).getEndpoint(name);
    if (!row) return Promise.reject(new PublishError({ reason: "endpoint-not-found", name }));
    return Promise.resolve(new PipelineEndpoint(ws, row));
  }

  static list(ws: Workspace): PipelineEndpoint[] {
    return PublishStore.of(ws).listEndpoints().map((row) => new PipelineEndpoint(ws, row));
  }

  /** Adds a version; the default stays unless `makeDefault`. Returns the new version. */
  add(pipeline: PublishedPipeline, options: { makeDefault?: boolean } = {}): Promise<string> {
    const version = PublishStore.of(this.workspace).addEndpointVersion(this.name, "", pipeline.id, options.makeDefault ?? false, new Date().toISOString());
    this.reload();
    return Promise.resolve(version);
  }

  addDefault(pipeline: PublishedPipeline): Promise<string> {
    return this.add(pipeline, { makeDefault: true });
  }

  setDefaultVersion(version: string): Promise<void> {
    this.reload();
    this.versionRow(version);
    PublishStore.of(this.workspace).setDefaultVersion(this.name, version);
    this.reload();
    return Promise.resolve();
  }

  /** The published pipeline behind a version (default: the default version). */
  getPipeline(version?: string): Promise<PublishedPipeline> {
    this.reload();
    return PublishedPipeline.get(this.workspace, this.versionRow(version ?? this.defaultVersion).pipelineId);
  }

  async submit(experimentName: string, options: EndpointSubmitOptions = {}): Promise<PipelineRun> {
    const { pipelineVersion, ...rest } = options;
    this.reload();
    const version = pipelineVersion ?? this.defaultVersion;
    const pipeline = await this.getPipeline(version);
    return pipeline.submit(experimentName, { ...rest, via: { endpoint: this.name, version } });
  }

  /** Runs made through this endpoint, newest first, with the version each used. */
  runs(limit = 50): { runId: string; version: string; pipelineId: string }[] {
    return PublishStore.of(this.workspace).runsOf({ endpoint: this.name }, limit).map((r) => ({ runId: r.runId, version: r.endpointVersion ?? "", pipelineId: r.pipelineId }));
  }

  toJSON(): PipelineEndpointReply {
    return { name: this.name, description: this.description, defaultVersion: this.defaultVersion, endpoint: this.endpoint, versions: this.versions };
  }

  private versionRow(version: string): EndpointVersionRow {
    const found = this.row.versions.find((v) => v.version === version);
    if (!found) throw new PublishError({ reason: "version-not-found", endpoint: this.name, version, known: this.row.versions.map((v) => v.version) });
    return found;
  }

  private reload(): void {
    const row = PublishStore.of(this.workspace).getEndpoint(this.name);
    if (!row) throw new PublishError({ reason: "endpoint-not-found", name: this.name });
    this.row = row;
  }
}
