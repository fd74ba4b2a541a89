import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";
import { StoreError } from "./StoreFailure.js";

/**
 * better-sqlite3 is CommonJS: required rather than imported, since an `import` of a CommonJS
 * package runs Node's export lexer over its files first (~7 ms CPU of every command that opens a
 * store, docs/startup.md).
 */
const Database = createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3;

/** The one place the native SQLite binding is touched; everything else sees `Db`. */
export type Db = BetterSqlite3.Database;

/**
 * Ordered schema migrations. A workspace written by an older pipebook is upgraded in place,
 * inside one transaction per step, so a crash mid-upgrade leaves the previous version intact.
 * Never edit a released entry: append a new one.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE experiments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
  );
  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments(id),
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    ended_at TEXT,
    error TEXT,
    parameters TEXT NOT NULL,
    graph TEXT NOT NULL,
    options TEXT NOT NULL,
    owner_pid INTEGER,
    owner_host TEXT,
    owner_start TEXT,
    git_repo TEXT,
    git_branch TEXT,
    git_commit TEXT,
    git_dirty INTEGER
  );
  CREATE INDEX runs_created ON runs(created_at);
  CREATE INDEX runs_status ON runs(status);
  CREATE TABLE step_runs (
    id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    name TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    kind TEXT NOT NULL,
    compute TEXT NOT NULL,
    status TEXT NOT NULL,
    key_digest TEXT,
    key_components TEXT,
    decision TEXT,
    reused_from TEXT REFERENCES step_runs(id),
    started_at TEXT,
    ended_at TEXT,
    exit_code INTEGER,
    error TEXT,
    log_dir TEXT NOT NULL,
    io TEXT NOT NULL,
    pid INTEGER,
    pid_start TEXT,
    UNIQUE (run_id, name)
  );
  CREATE INDEX step_runs_key ON step_runs(key_digest, status);
  CREATE INDEX step_runs_name ON step_runs(name, ended_at);
  CREATE TABLE step_outputs (
    step_run_id TEXT NOT NULL REFERENCES step_runs(id),
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    digest TEXT,
    PRIMARY KEY (step_run_id, name)
  );
  CREATE TABLE metrics (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    step_run_id TEXT NOT NULL REFERENCES step_runs(id),
    name TEXT NOT NULL,
    idx INTEGER NOT NULL,
    value_num REAL,
    value_text TEXT
  );
  CREATE INDEX metrics_step ON metrics(step_run_id);
  CREATE TABLE stat_cache (
    path TEXT PRIMARY KEY,
    stamp TEXT NOT NULL,
    digest TEXT NOT NULL
  );
  `,
  // 2: publishing (issue 5): published pipelines, versioned endpoints, API tokens, schedules.
  `
  CREATE TABLE published_pipelines (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    version TEXT NOT NULL,
    source_run_id TEXT,
    spec TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
  );
  CREATE INDEX published_pipelines_name ON published_pipelines(name, created_at);
  CREATE TABLE pipeline_endpoints (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    default_version TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE endpoint_versions (
    endpoint TEXT NOT NULL REFERENCES pipeline_endpoints(name),
    version TEXT NOT NULL,
    pipeline_id TEXT NOT NULL REFERENCES published_pipelines(id),
    added_at TEXT NOT NULL,
    PRIMARY KEY (endpoint, version)
  );
  CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
  );
  CREATE TABLE idempotency_keys (
    key TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    run_id TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    target TEXT NOT NULL,
    experiment TEXT NOT NULL,
    parameters TEXT NOT NULL,
    trigger TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    last_tick_at TEXT,
    watch_digest TEXT
  );
  CREATE TABLE schedule_events (
    id INTEGER PRIMARY KEY,
    schedule_id TEXT NOT NULL REFERENCES schedules(id),
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    run_id TEXT,
    detail TEXT NOT NULL
  );
  CREATE INDEX schedule_events_schedule ON schedule_events(schedule_id, id);
  `,
  // 3: which pipebook server fires the workspace's schedules (one at a time, no duplicate runs).
  `
  CREATE TABLE scheduler_lease (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    token TEXT NOT NULL,
    owner_pid INTEGER NOT NULL,
    owner_host TEXT NOT NULL,
    owner_start TEXT NOT NULL,
    heartbeat_at INTEGER NOT NULL
  );
  `,
  // 4: which published pipeline (and endpoint version) each run of one came from.
  `
  CREATE TABLE published_runs (
    run_id TEXT PRIMARY KEY REFERENCES runs(id),
    pipeline_id TEXT NOT NULL REFERENCES published_pipelines(id),
    endpoint TEXT,
    endpoint_version TEXT,
    created_at TEXT NOT NULL
  );
  CREATE INDEX published_runs_pipeline ON published_runs(pipeline_id, created_at);
  CREATE INDEX published_runs_endpoint ON published_runs(endpoint, created_at);
  `,
  // 5: registered dataset versions (immutable; their files are snapshotted into blobs).
  `
  CREATE TABLE dataset_versions (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    description TEXT NOT NULL,
    definition TEXT NOT NULL,
    manifest TEXT NOT NULL,
    digest TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    file_count INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (name, version)
  );
  `,
  // 6: an idempotency key is claimed (a row without a run, owned by one server process) before
  // its run is made, so two servers on one workspace cannot both make a run for it.
  `
  CREATE TABLE idempotency_keys_claimed (
    key TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    run_id TEXT,
    created_at TEXT NOT NULL,
    owner_pid INTEGER,
    owner_host TEXT,
    owner_start TEXT
  );
  INSERT INTO idempotency_keys_claimed(key, request_hash, run_id, created_at)
    SELECT key, request_hash, run_id, created_at FROM idempotency_keys;
  DROP TABLE idempotency_keys;
  ALTER TABLE idempotency_keys_claimed RENAME TO idempotency_keys;
  `,
  // 7: `pipebook cancel` asks a run's owning process, whichever it is, to cancel the run.
  `
  ALTER TABLE runs ADD COLUMN cancel_requested_at TEXT;
  `,
  // 8: versioned modules (issue 14): a module's versions are immutable; their code is a snapshot in blobs.
  `
  CREATE TABLE modules (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    default_version TEXT,
    created_at TEXT NOT NULL
  );
  CREATE TABLE module_versions (
    module TEXT NOT NULL REFERENCES modules(name),
    version TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    description TEXT NOT NULL,
    definition TEXT NOT NULL,
    digest TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'active',
    created_at TEXT NOT NULL,
    PRIMARY KEY (module, version)
  );
  `,
  // 9: named datastores (issue 14): settings only, never a secret (credentials are named by their
  // environment variable); the workspace's default datastore; which run and step made a dataset version.
  `
  CREATE TABLE datastores (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE TABLE workspace_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  ALTER TABLE dataset_versions ADD COLUMN lineage TEXT;
  `,
  // 10: agents (issue 10) as the server that has them last saw them, for \`pipebook agents\` and REST.
  `
  CREATE TABLE agents (
    name TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    server_pid INTEGER NOT NULL,
    server_host TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  );
  `,
  // 11: a whole module can be deprecated or disabled (the seeds' Module.deprecate/disable), besides its versions.
  `
  ALTER TABLE modules ADD COLUMN state TEXT NOT NULL DEFAULT 'active';
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * The compiled SQLite addon, named to better-sqlite3 directly: without it, its `bindings` helper
 * looks for the file by walking the stack and trying a dozen folders (~8 ms of every command that
 * opens a store). A build elsewhere (a Debug build) is still found by that search.
 */
const NATIVE_BINDING = ((): string | undefined => {
  try {
    return createRequire(import.meta.url).resolve("better-sqlite3/build/Release/better_sqlite3.node");
  } catch {
    return undefined;
  }
})();

export function openDatabase(file: string): Db {
  // timeout: SQLite's busy timeout (what PRAGMA busy_timeout sets), given to the constructor.
  const db = new Database(file, NATIVE_BINDING === undefined ? { timeout: 10000 } : { timeout: 10000, nativeBinding: NATIVE_BINDING });
  // One exec for the settings rather than a prepared statement each (every command opens a store).
  // NORMAL under WAL is durable against process crashes (what a killed engine is);
  // only an OS crash can lose the last transactions, never corrupt the file.
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON");
  try {
    migrate(db, file);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

function migrate(db: Db, file: string): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current > MIGRATIONS.length) throw new StoreError({ reason: "schema-newer", file, schema: current, known: MIGRATIONS.length });
  for (let v = current; v < MIGRATIONS.length; v++) {
    const sql = MIGRATIONS[v]!;
    db.transaction(() => {
      // Re-check inside the write lock: another process may have migrated meanwhile.
      const now = db.pragma("user_version", { simple: true }) as number;
      if (now > v) return;
      db.exec(sql);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
