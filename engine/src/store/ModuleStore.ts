import type { ProgramKind } from "../contract/runView.js";
import type { Db } from "./openDatabase.js";
import { perWorkspace, StatementCache } from "./StatementCache.js";

/**
 * `active` versions are used freely; `deprecated` ones still run, with a warning at submit;
 * `disabled` ones refuse every submit that uses them (the seeds: "mark versions disabled to
 * prevent consumers from using them").
 */
export type ModuleState = "active" | "deprecated" | "disabled";
export const MODULE_STATES: readonly ModuleState[] = ["active", "deprecated", "disabled"];

/** What a module version runs: fixed when it is published, never changed afterwards. */
export interface ModuleDefinition {
  readonly kind: ProgramKind;
  /** python and node: the script inside the snapshot. */
  readonly scriptName?: string;
  /** command: the shell command line or argv. */
  readonly command?: string | readonly string[];
  /** Snapshot manifest blob of the source folder (absent for a command published without one). */
  readonly manifest?: string;
  /** The snapshot as relative path → content digest: what a step's key takes as its source. */
  readonly source: Readonly<Record<string, string>>;
  /** Input and output ports: each becomes `--NAME PATH` on the command line, inputs first. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

export interface ModuleRecord {
  readonly name: string;
  readonly description: string;
  readonly defaultVersion: string | undefined;
  /** The whole module's state: a disabled module refuses every version, a deprecated one warns for each. */
  readonly state: ModuleState;
  readonly createdAt: string;
}

export interface ModuleVersionRecord {
  readonly module: string;
  readonly version: string;
  /** Publishing order (1, 2, …): "the latest" is the highest, whatever the version strings. */
  readonly ordinal: number;
  readonly description: string;
  readonly definition: ModuleDefinition;
  /** Content digest of the definition (program, snapshot, ports): what step keys name. */
  readonly digest: string;
  readonly state: ModuleState;
  readonly createdAt: string;
}

/** Modules and their versions: every SQL statement about modules lives here. */
export class ModuleStore extends StatementCache {
  private constructor(db: Db) {
    super(db);
  }

  static readonly of = perWorkspace((ws) => new ModuleStore(ws.db));

  /** Adds a module; false when the name is taken (nothing is changed then). */
  create(name: string, description: string, createdAt: string): boolean {
    const r = this.sql("INSERT INTO modules(name, description, default_version, created_at) VALUES (?, ?, NULL, ?) ON CONFLICT(name) DO NOTHING").run(name, description, createdAt);
    return r.changes === 1;
  }

  get(name: string): ModuleRecord | undefined {
    const r = this.sql("SELECT * FROM modules WHERE name = ?").get(name) as Raw | undefined;
    return r && toModule(r);
  }

  list(): ModuleRecord[] {
    return (this.sql("SELECT * FROM modules ORDER BY name").all() as Raw[]).map(toModule);
  }

  /** Every version of a module, in publishing order. */
  versions(name: string): ModuleVersionRecord[] {
    return (this.sql("SELECT * FROM module_versions WHERE module = ? ORDER BY ordinal").all(name) as Raw[]).map(toVersion);
  }

  version(name: string, version: string): ModuleVersionRecord | undefined {
    const r = this.sql("SELECT * FROM module_versions WHERE module = ? AND version = ?").get(name, version) as Raw | undefined;
    return r && toVersion(r);
  }

  /**
   * Adds a version in one transaction, so two processes publishing at once get different
   * ordinals; `decide` sees the existing versions and returns the new one, or an existing one
   * to keep (the same content published again), or throws. `makeDefault` also sets it as the
   * default (always so for the first version).
   */
  addVersion(
    name: string,
    decide: (existing: readonly ModuleVersionRecord[]) => ModuleVersionRecord | Omit<ModuleVersionRecord, "ordinal">,
    makeDefault: boolean,
  ): ModuleVersionRecord {
    return this.db.transaction(() => {
      const existing = this.versions(name);
      const next = decide(existing);
      if ("ordinal" in next) return next;
      const row: ModuleVersionRecord = { ...next, ordinal: (existing.at(-1)?.ordinal ?? 0) + 1 };
      this.sql("INSERT INTO module_versions(module, version, ordinal, description, definition, digest, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)").run(
        row.module, row.version, row.ordinal, row.description, JSON.stringify(row.definition), row.digest, row.state, row.createdAt,
      );
      if (makeDefault || existing.length === 0) this.setDefault(name, row.version);
      return row;
    }).immediate();
  }

  setDefault(name: string, version: string): void {
    this.sql("UPDATE modules SET default_version = ? WHERE name = ?").run(version, name);
  }

  setModuleState(name: string, state: ModuleState): void {
    this.sql("UPDATE modules SET state = ? WHERE name = ?").run(state, name);
  }

  setState(name: string, version: string, state: ModuleState): void {
    this.sql("UPDATE module_versions SET state = ? WHERE module = ? AND version = ?").run(state, name, version);
  }
}

type Raw = Record<string, unknown>;

function toModule(r: Raw): ModuleRecord {
  return {
    name: r["name"] as string,
    description: r["description"] as string,
    defaultVersion: (r["default_version"] as string | null) ?? undefined,
    state: (r["state"] as ModuleState | undefined) ?? "active",
    createdAt: r["created_at"] as string,
  };
}

function toVersion(r: Raw): ModuleVersionRecord {
  return {
    module: r["module"] as string,
    version: r["version"] as string,
    ordinal: r["ordinal"] as number,
    description: r["description"] as string,
    definition: JSON.parse(r["definition"] as string) as ModuleDefinition,
    digest: r["digest"] as string,
    state: r["state"] as ModuleState,
    createdAt: r["created_at"] as string,
  };
}
