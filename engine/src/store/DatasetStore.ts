import type { Db } from "./openDatabase.js";
import { perWorkspace, StatementCache } from "./StatementCache.js";
import type { DatasetDefinition, DatasetLineage, DatasetVersion } from "../datasets/DatasetDefinition.js";

/** Registered dataset versions: every SQL statement about datasets lives here. */
export class DatasetStore extends StatementCache {
  private constructor(db: Db) {
    super(db);
  }

  static readonly of = perWorkspace((ws) => new DatasetStore(ws.db));

  latest(name: string): DatasetVersion | undefined {
    const r = this.sql("SELECT * FROM dataset_versions WHERE name = ? ORDER BY version DESC LIMIT 1").get(name) as Raw | undefined;
    return r && toVersion(r);
  }

  get(name: string, version: number): DatasetVersion | undefined {
    const r = this.sql("SELECT * FROM dataset_versions WHERE name = ? AND version = ?").get(name, version) as Raw | undefined;
    return r && toVersion(r);
  }

  /** Every version of one dataset, newest first; or the latest version of every dataset. */
  list(name?: string): DatasetVersion[] {
    const rows =
      name === undefined
        ? this.sql("SELECT d.* FROM dataset_versions d WHERE d.version = (SELECT MAX(version) FROM dataset_versions WHERE name = d.name) ORDER BY d.name").all()
        : this.sql("SELECT * FROM dataset_versions WHERE name = ? ORDER BY version DESC").all(name);
    return (rows as Raw[]).map(toVersion);
  }

  /** The versions registered from the outputs of these step runs (registerOnComplete), oldest first. */
  registeredBy(stepRunIds: readonly string[]): DatasetVersion[] {
    if (stepRunIds.length === 0) return [];
    const rows = this.sql("SELECT * FROM dataset_versions WHERE lineage IS NOT NULL AND json_extract(lineage, '$.stepRunId') IN (SELECT value FROM json_each(?)) ORDER BY created_at, name, version").all(JSON.stringify(stepRunIds));
    return (rows as Raw[]).map(toVersion);
  }

  /** Step runs whose outputs dataset versions were registered from (gc keeps those outputs). */
  lineageStepRuns(): Set<string> {
    const rows = this.sql("SELECT lineage FROM dataset_versions WHERE lineage IS NOT NULL").all() as { lineage: string }[];
    return new Set(rows.map((r) => (JSON.parse(r.lineage) as DatasetLineage).stepRunId));
  }

  /**
   * Adds the next version in one transaction, so two processes registering at once get
   * different numbers; `decide` sees the latest version and may return it instead.
   */
  addVersion(name: string, decide: (latest: DatasetVersion | undefined) => DatasetVersion | Omit<DatasetVersion, "version">): DatasetVersion {
    return this.db.transaction(() => {
      const latest = this.latest(name);
      const next = decide(latest);
      if ("version" in next) return next;
      const row: DatasetVersion = { ...next, version: (latest?.version ?? 0) + 1 };
      this.sql("INSERT INTO dataset_versions(name, version, description, definition, manifest, digest, bytes, file_count, created_at, lineage) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)").run(
        row.name, row.version, row.description, JSON.stringify(row.definition), row.manifest, row.digest, row.bytes, row.fileCount, row.createdAt,
        row.lineage ? JSON.stringify(row.lineage) : null,
      );
      return row;
    }).immediate();
  }
}

type Raw = Record<string, unknown>;

function toVersion(r: Raw): DatasetVersion {
  return {
    name: r["name"] as string,
    version: r["version"] as number,
    description: r["description"] as string,
    definition: JSON.parse(r["definition"] as string) as DatasetDefinition,
    manifest: r["manifest"] as string,
    digest: r["digest"] as string,
    bytes: r["bytes"] as number,
    fileCount: r["file_count"] as number,
    createdAt: r["created_at"] as string,
    ...(typeof r["lineage"] === "string" && { lineage: JSON.parse(r["lineage"]) as DatasetLineage }),
  };
}
