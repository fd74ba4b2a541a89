import type { Db } from "./openDatabase.js";
import { perWorkspace, StatementCache } from "./StatementCache.js";
import type { Workspace } from "../workspace/Workspace.js";
import type { PipelineSpec } from "../spec/PipelineSpec.js";
import type { RunOwner } from "./RunStore.js";

export interface PublishedPipelineRow {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly version: string;
  /** The run it was published from; null when published straight from a Pipeline object. */
  readonly sourceRunId: string | null;
  readonly spec: PipelineSpec;
  readonly enabled: boolean;
  readonly createdAt: string;
}

export interface EndpointVersionRow {
  readonly version: string;
  readonly pipelineId: string;
  readonly addedAt: string;
}

export interface EndpointRow {
  readonly name: string;
  readonly description: string;
  readonly defaultVersion: string;
  readonly createdAt: string;
  readonly versions: readonly EndpointVersionRow[];
}

/** A run of a published pipeline, and the endpoint version it was asked through. */
export interface PublishedRunRow {
  readonly runId: string;
  readonly pipelineId: string;
  readonly endpoint: string | null;
  readonly endpointVersion: string | null;
  readonly createdAt: string;
}

/**
 * An idempotency key's row. The run's id is claimed with the key, in the one statement that
 * inserts it, before the run is made: whatever point its server dies at, a retry finds the id,
 * and either the run (made) or no run of that id (its claim is taken over and the run made with
 * that same id, never a second one).
 */
export interface IdempotencyRow {
  readonly requestHash: string;
  /** The run's id; null only for a claim stored by an older pipebook that claimed keys without it. */
  readonly runId: string | null;
  /** Whether the store holds that run: made (replay it), or not yet (its owner is making it, or died). */
  readonly runMade: boolean;
  /** The server process that claimed it; null for keys stored before claims were. */
  readonly owner: RunOwner | null;
}

type Raw = Record<string, unknown>;

function toPublishedRun(r: Raw): PublishedRunRow {
  return {
    runId: r["run_id"] as string,
    pipelineId: r["pipeline_id"] as string,
    endpoint: (r["endpoint"] as string | null) ?? null,
    endpointVersion: (r["endpoint_version"] as string | null) ?? null,
    createdAt: r["created_at"] as string,
  };
}



/** Published pipelines, endpoints and idempotency keys: every SQL statement of publishing lives here. */
export class PublishStore extends StatementCache {
  private constructor(db: Db) {
    super(db);
  }

  static readonly of = perWorkspace((ws) => new PublishStore(ws.db));

  insertPipeline(row: PublishedPipelineRow): void {
    this
      .sql("INSERT INTO published_pipelines(id, name, description, version, source_run_id, spec, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .run(row.id, row.name, row.description, row.version, row.sourceRunId, JSON.stringify(row.spec), row.enabled ? 1 : 0, row.createdAt);
  }

  getPipeline(id: string): PublishedPipelineRow | undefined {
    const r = this.sql("SELECT * FROM published_pipelines WHERE id = ?").get(id) as Raw | undefined;
    return r && toPipeline(r);
  }

  listPipelines(includeDisabled: boolean): PublishedPipelineRow[] {
    const where = includeDisabled ? "" : "WHERE enabled = 1";
    return (this.sql(`SELECT * FROM published_pipelines ${where} ORDER BY created_at DESC, rowid DESC`).all() as Raw[]).map(toPipeline);
  }

  setPipelineEnabled(id: string, enabled: boolean): boolean {
    return this.sql("UPDATE published_pipelines SET enabled = ? WHERE id = ?").run(enabled ? 1 : 0, id).changes === 1;
  }

  /** Creates the endpoint with its first version "0", or adds the next version; returns the version. */
  addEndpointVersion(name: string, description: string, pipelineId: string, makeDefault: boolean, at: string): string {
    return this.db.transaction(() => {
      const exists = this.sql("SELECT 1 FROM pipeline_endpoints WHERE name = ?").get(name) !== undefined;
      const count = (this.sql("SELECT COUNT(*) AS n FROM endpoint_versions WHERE endpoint = ?").get(name) as { n: number }).n;
      const version = String(count);
      if (!exists) {
        this.sql("INSERT INTO pipeline_endpoints(name, description, default_version, created_at) VALUES (?, ?, ?, ?)").run(name, description, version, at);
      } else if (makeDefault) {
        this.sql("UPDATE pipeline_endpoints SET default_version = ? WHERE name = ?").run(version, name);
      }
      if (exists && description !== "") this.sql("UPDATE pipeline_endpoints SET description = ? WHERE name = ?").run(description, name);
      this.sql("INSERT INTO endpoint_versions(endpoint, version, pipeline_id, added_at) VALUES (?, ?, ?, ?)").run(name, version, pipelineId, at);
      return version;
    }).immediate();
  }

  setDefaultVersion(name: string, version: string): void {
    this.sql("UPDATE pipeline_endpoints SET default_version = ? WHERE name = ?").run(version, name);
  }

  getEndpoint(name: string): EndpointRow | undefined {
    const r = this.sql("SELECT * FROM pipeline_endpoints WHERE name = ?").get(name) as Raw | undefined;
    return r && this.toEndpoint(r);
  }

  listEndpoints(): EndpointRow[] {
    return (this.sql("SELECT * FROM pipeline_endpoints ORDER BY name").all() as Raw[]).map((r) => this.toEndpoint(r));
  }

  /**
   * Claims an idempotency key and the id of the run it will make for `owner` (a unique row,
   * inserted or not in one statement), or answers the row another request already holds.
   */
  claimIdempotencyKey(key: string, requestHash: string, runId: string, owner: RunOwner, at: string): { readonly claimed: true } | { readonly claimed: false; readonly held: IdempotencyRow } {
    return this.db.transaction(() => {
      const inserted = this.sql("INSERT OR IGNORE INTO idempotency_keys(key, request_hash, run_id, created_at, owner_pid, owner_host, owner_start) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .run(key, requestHash, runId, at, owner.pid, owner.host, owner.start).changes === 1;
      if (inserted) return { claimed: true as const };
      const r = this.sql(
        "SELECT k.request_hash, k.run_id, k.owner_pid, k.owner_host, k.owner_start, EXISTS (SELECT 1 FROM runs WHERE id = k.run_id) AS made FROM idempotency_keys k WHERE k.key = ?",
      ).get(key) as Raw;
      const held: IdempotencyRow = {
        requestHash: r["request_hash"] as string,
        runId: (r["run_id"] as string | null) ?? null,
        runMade: r["made"] === 1,
        owner: r["owner_pid"] === null ? null : { pid: r["owner_pid"] as number, host: r["owner_host"] as string, start: r["owner_start"] as string },
      };
      return { claimed: false as const, held };
    }).immediate();
  }

  /**
   * Takes over a claim whose run was never made, if `from` still holds it (its process died), and
   * answers the run id to make it with: the claimed one (`runId` only where an older claim had none).
   */
  takeOverIdempotencyKey(key: string, from: RunOwner, to: RunOwner, runId: string): string | undefined {
    return this.db.transaction(() => {
      const changed = this.sql(
        "UPDATE idempotency_keys SET owner_pid = ?, owner_host = ?, owner_start = ?, run_id = COALESCE(run_id, ?) WHERE key = ? AND owner_pid = ? AND owner_host = ? AND owner_start = ? AND NOT EXISTS (SELECT 1 FROM runs WHERE id = idempotency_keys.run_id)",
      ).run(to.pid, to.host, to.start, runId, key, from.pid, from.host, from.start).changes === 1;
      return changed ? ((this.sql("SELECT run_id FROM idempotency_keys WHERE key = ?").get(key) as Raw)["run_id"] as string) : undefined;
    }).immediate();
  }

  /** The claimed key made no run (the request was refused): a retry may claim it again. */
  releaseIdempotencyKey(key: string, owner: RunOwner): void {
    this.sql("DELETE FROM idempotency_keys WHERE key = ? AND owner_pid = ? AND owner_host = ? AND owner_start = ? AND NOT EXISTS (SELECT 1 FROM runs WHERE id = idempotency_keys.run_id)")
      .run(key, owner.pid, owner.host, owner.start);
  }

  recordRun(runId: string, pipelineId: string, via: { endpoint: string; version: string } | undefined, at: string): void {
    this.sql("INSERT OR IGNORE INTO published_runs(run_id, pipeline_id, endpoint, endpoint_version, created_at) VALUES (?, ?, ?, ?, ?)").run(runId, pipelineId, via?.endpoint ?? null, via?.version ?? null, at);
  }

  /** The published pipeline (and endpoint version) a run came from, if it came from one. */
  originOfRun(runId: string): PublishedRunRow | undefined {
    const r = this.sql("SELECT * FROM published_runs WHERE run_id = ?").get(runId) as Raw | undefined;
    return r && toPublishedRun(r);
  }

  runsOf(of: { pipelineId: string } | { endpoint: string }, limit: number): PublishedRunRow[] {
    const rows = "pipelineId" in of
      ? this.sql("SELECT * FROM published_runs WHERE pipeline_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?").all(of.pipelineId, limit)
      : this.sql("SELECT * FROM published_runs WHERE endpoint = ? ORDER BY created_at DESC, rowid DESC LIMIT ?").all(of.endpoint, limit);
    return (rows as Raw[]).map(toPublishedRun);
  }

  /** Forgets keys older than `before` (a retry comes within minutes, not weeks). */
  purgeIdempotencyKeys(before: string): number {
    return this.sql("DELETE FROM idempotency_keys WHERE created_at < ?").run(before).changes;
  }

  private toEndpoint(r: Raw): EndpointRow {
    const versions = (this.sql("SELECT version, pipeline_id, added_at FROM endpoint_versions WHERE endpoint = ? ORDER BY CAST(version AS INTEGER)").all(r["name"]) as Raw[]).map(
      (v) => ({ version: v["version"] as string, pipelineId: v["pipeline_id"] as string, addedAt: v["added_at"] as string }),
    );
    return {
      name: r["name"] as string,
      description: r["description"] as string,
      defaultVersion: r["default_version"] as string,
      createdAt: r["created_at"] as string,
      versions,
    };
  }
}

function toPipeline(r: Raw): PublishedPipelineRow {
  return {
    id: r["id"] as string,
    name: r["name"] as string,
    description: r["description"] as string,
    version: r["version"] as string,
    sourceRunId: (r["source_run_id"] as string | null) ?? null,
    spec: JSON.parse(r["spec"] as string) as PipelineSpec,
    enabled: r["enabled"] === 1,
    createdAt: r["created_at"] as string,
  };
}
