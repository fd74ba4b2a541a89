import type Database from "better-sqlite3";
import type { Db } from "./openDatabase.js";
import { digestsNamedInStore } from "./namedDigests.js";
import { StatementCache } from "./StatementCache.js";
import type { ParameterValue, RunStatus, StepKind, StepStatus } from "../contract/runView.js";
import type { KeyComponents } from "../fingerprint/KeyComponents.js";
import type { Decision } from "../explain/Decision.js";
import type { PipelineSpec } from "../spec/PipelineSpec.js";

/** A step's run in a pipeline run: the store's key for it, and its data folder's and cgroup's name. */
export const stepRunIdOf = (runId: string, stepName: string): string => `${runId}.${stepName}`;

export interface GitInfo {
  readonly repo: string;
  readonly branch: string;
  readonly commit: string;
  readonly dirty: boolean;
}

/** Who executes a run: used after a crash to tell orphaned runs from live ones. */
export interface RunOwner {
  readonly pid: number;
  readonly host: string;
  /** Process start time, so a recycled pid is not mistaken for the owner. */
  readonly start: string;
}

export interface RunRow {
  readonly id: string;
  readonly experiment: string;
  readonly status: RunStatus;
  readonly source: string;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly error: string | null;
  readonly parameters: Record<string, ParameterValue>;
  /** The edges to draw, and the spec the run can be reproduced from. */
  readonly graph: { readonly edges: readonly { from: string; to: string; data: string }[]; readonly spec: PipelineSpec };
  readonly owner: RunOwner | null;
  readonly git: GitInfo | null;
}

export interface StepRunRow {
  readonly id: string;
  readonly runId: string;
  readonly name: string;
  readonly ordinal: number;
  readonly kind: StepKind;
  readonly compute: string;
  readonly status: StepStatus;
  readonly keyDigest: string | null;
  readonly keyComponents: KeyComponents | null;
  readonly decision: Decision | null;
  readonly reusedFrom: string | null;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly exitCode: number | null;
  readonly error: string | null;
  readonly logDir: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly pid: number | null;
  readonly pidStart: string | null;
}

export interface OutputRow {
  readonly name: string;
  readonly path: string;
  readonly digest: string | null;
}

export interface MetricRow {
  readonly name: string;
  readonly idx: number;
  readonly value: number | string;
}

export interface NewStep {
  readonly id: string;
  readonly name: string;
  readonly kind: StepKind;
  readonly compute: string;
  readonly logDir: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

export interface NewRun {
  readonly id: string;
  readonly experiment: string;
  readonly source: string;
  readonly createdAt: string;
  readonly parameters: Record<string, ParameterValue>;
  readonly graph: RunRow["graph"];
  readonly options: Record<string, unknown>;
  readonly owner: RunOwner;
  readonly steps: readonly NewStep[];
}

export type StepUpdate = Partial<{
  status: StepStatus;
  keyDigest: string;
  keyComponents: KeyComponents;
  decision: Decision;
  reusedFrom: string;
  startedAt: string;
  endedAt: string;
  exitCode: number;
  error: string;
  pid: number | null;
  pidStart: string | null;
}>;

const STEP_COLUMNS: Record<keyof StepUpdate, string> = {
  status: "status",
  keyDigest: "key_digest",
  keyComponents: "key_components",
  decision: "decision",
  reusedFrom: "reused_from",
  startedAt: "started_at",
  endedAt: "ended_at",
  exitCode: "exit_code",
  error: "error",
  pid: "pid",
  pidStart: "pid_start",
};

type Raw = Record<string, unknown>;

/** Runs, step runs, outputs and metrics: every SQL statement of the run history lives here. */
export class RunStore extends StatementCache {
  constructor(db: Db) {
    super(db);
  }

  createRun(run: NewRun): void {
    this.db.transaction(() => {
      this.sql("INSERT OR IGNORE INTO experiments(name, created_at) VALUES (?, ?)").run(run.experiment, run.createdAt);
      const exp = this.sql("SELECT id FROM experiments WHERE name = ?").get(run.experiment) as { id: number };
      this
        .sql(
          `INSERT INTO runs(id, experiment_id, status, source, created_at, parameters, graph, options, owner_pid, owner_host, owner_start)
           VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(run.id, exp.id, run.source, run.createdAt, JSON.stringify(run.parameters), JSON.stringify(run.graph), JSON.stringify(run.options), run.owner.pid, run.owner.host, run.owner.start);
      const insert = this.sql(
        `INSERT INTO step_runs(id, run_id, name, ordinal, kind, compute, status, log_dir, io)
         VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)`,
      );
      run.steps.forEach((s, i) => insert.run(s.id, run.id, s.name, i, s.kind, s.compute, s.logDir, JSON.stringify({ inputs: s.inputs, outputs: s.outputs })));
    })();
  }

  setGit(runId: string, git: GitInfo): void {
    this.sql("UPDATE runs SET git_repo = ?, git_branch = ?, git_commit = ?, git_dirty = ? WHERE id = ?").run(git.repo, git.branch, git.commit, git.dirty ? 1 : 0, runId);
  }

  setRunStatus(runId: string, status: RunStatus, at: string, error?: string): void {
    if (status === "running") {
      this.sql("UPDATE runs SET status = ?, started_at = COALESCE(started_at, ?) WHERE id = ?").run(status, at, runId);
    } else if (status === "queued") {
      this.sql("UPDATE runs SET status = ? WHERE id = ?").run(status, runId);
    } else {
      this.sql("UPDATE runs SET status = ?, ended_at = ?, error = ? WHERE id = ?").run(status, at, error ?? null, runId);
    }
  }

  /**
   * Asks the process that owns an unfinished run to cancel it (it looks for the request while
   * the run is in flight); false when the run has already ended.
   */
  requestCancel(runId: string, at: string): boolean {
    return this.sql("UPDATE runs SET cancel_requested_at = COALESCE(cancel_requested_at, ?) WHERE id = ? AND status IN ('queued', 'running')").run(at, runId).changes === 1;
  }

  /** Whether someone asked for this run to be canceled (`pipebook cancel`). */
  cancelRequested(runId: string): boolean {
    return (this.sql("SELECT cancel_requested_at IS NOT NULL AS asked FROM runs WHERE id = ?").get(runId) as { asked: number } | undefined)?.asked === 1;
  }

  updateStep(stepRunId: string, update: StepUpdate): void {
    const keys = Object.keys(update) as (keyof StepUpdate)[];
    if (keys.length === 0) return;
    const values = keys.map((k) => {
      const v = update[k];
      if (k === "keyComponents") return JSON.stringify(v);
      if (k === "decision") return JSON.stringify(v);
      return v ?? null;
    });
    this.sql(`UPDATE step_runs SET ${keys.map((k) => `${STEP_COLUMNS[k]} = ?`).join(", ")} WHERE id = ?`).run(...values, stepRunId);
  }

  recordOutputs(stepRunId: string, outputs: readonly OutputRow[]): void {
    const stmt = this.sql("INSERT OR REPLACE INTO step_outputs(step_run_id, name, path, digest) VALUES (?, ?, ?, ?)");
    this.db.transaction(() => outputs.forEach((o) => stmt.run(stepRunId, o.name, o.path, o.digest)))();
  }

  addMetrics(runId: string, stepRunId: string, metrics: readonly MetricRow[]): void {
    const stmt = this.sql("INSERT INTO metrics(run_id, step_run_id, name, idx, value_num, value_text) VALUES (?, ?, ?, ?, ?, ?)");
    this.db.transaction(() =>
      metrics.forEach((m) => stmt.run(runId, stepRunId, m.name, m.idx, typeof m.value === "number" ? m.value : null, typeof m.value === "string" ? m.value : null)),
    )();
  }

  getRun(runId: string): RunRow | undefined {
    const row = this.sql(`${RUN_SELECT} WHERE r.id = ?`).get(runId) as Raw | undefined;
    return row && toRun(row);
  }

  /** Resolves a full id or a unique prefix of one (what a person types). */
  resolveRunId(idOrPrefix: string): string[] {
    const rows = this.sql("SELECT id FROM runs WHERE id = ? OR id LIKE ? ORDER BY created_at DESC LIMIT 5").all(idOrPrefix, `${idOrPrefix.replace(/[%_]/g, "")}%`) as { id: string }[];
    const exact = rows.find((r) => r.id === idOrPrefix);
    return exact ? [exact.id] : rows.map((r) => r.id);
  }

  listRuns(options: { limit?: number; experiment?: string } = {}): RunRow[] {
    const where = options.experiment ? "WHERE e.name = ?" : "";
    const args: unknown[] = options.experiment ? [options.experiment] : [];
    const rows = this.sql(`${RUN_SELECT} ${where} ORDER BY r.created_at DESC, r.rowid DESC LIMIT ?`).all(...args, options.limit ?? 50) as Raw[];
    return rows.map(toRun);
  }

  listActiveRuns(): RunRow[] {
    return (this.sql(`${RUN_SELECT} WHERE r.status IN ('queued', 'running')`).all() as Raw[]).map(toRun);
  }

  getSteps(runId: string): StepRunRow[] {
    return (this.sql("SELECT * FROM step_runs WHERE run_id = ? ORDER BY ordinal").all(runId) as Raw[]).map(toStep);
  }

  getStep(stepRunId: string): StepRunRow | undefined {
    const row = this.sql("SELECT * FROM step_runs WHERE id = ?").get(stepRunId) as Raw | undefined;
    return row && toStep(row);
  }

  getOutputs(stepRunId: string): OutputRow[] {
    return this.sql("SELECT name, path, digest FROM step_outputs WHERE step_run_id = ? ORDER BY name").all(stepRunId) as OutputRow[];
  }

  getMetrics(stepRunId: string): MetricRow[] {
    const rows = this.sql("SELECT name, idx, value_num, value_text FROM metrics WHERE step_run_id = ? ORDER BY name, idx").all(stepRunId) as Raw[];
    return rows.map((r) => ({ name: r["name"] as string, idx: r["idx"] as number, value: (r["value_num"] ?? r["value_text"]) as number | string }));
  }

  /**
   * Claims a key for a step about to run, atomically: returns the id of another unfinished step
   * run that claimed it first (its result will be reusable), or undefined after writing the key
   * on this step run, so that an identical step deciding next waits for this one.
   */
  claimKey(stepRunId: string, keyDigest: string): string | undefined {
    return this.db
      .transaction((): string | undefined => {
        const twin = this.sql("SELECT id FROM step_runs WHERE key_digest = ? AND status IN ('queued', 'running') AND id <> ? LIMIT 1").get(keyDigest, stepRunId) as
          | { id: string }
          | undefined;
        if (twin) return twin.id;
        this.sql("UPDATE step_runs SET key_digest = ? WHERE id = ?").run(keyDigest, stepRunId);
        return undefined;
      })
      .immediate();
  }

  /** Completed step runs with this key, newest first: candidates for reuse. */
  findByKey(keyDigest: string, limit = 3): StepRunRow[] {
    return (this.sql("SELECT * FROM step_runs WHERE key_digest = ? AND status = 'completed' ORDER BY ended_at DESC LIMIT ?").all(keyDigest, limit) as Raw[]).map(toStep);
  }

  /**
   * The latest earlier step run of the same name that has a key, to compare against when
   * explaining a miss; the same experiment is preferred.
   */
  findPrevious(stepName: string, experiment: string, excludeRunId: string): StepRunRow | undefined {
    const row = this
      .sql(
        `SELECT s.* FROM step_runs s JOIN runs r ON r.id = s.run_id JOIN experiments e ON e.id = r.experiment_id
         WHERE s.name = ? AND s.run_id != ? AND s.key_components IS NOT NULL AND s.status IN ('completed', 'reused', 'failed')
         ORDER BY (e.name = ?) DESC, r.created_at DESC, s.rowid DESC LIMIT 1`,
      )
      .get(stepName, excludeRunId, experiment) as Raw | undefined;
    return row && toStep(row);
  }

  experimentOfRun(runId: string): string {
    const row = this.sql("SELECT e.name FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE r.id = ?").get(runId) as { name: string } | undefined;
    return row?.name ?? "";
  }

  /** Every output folder any step run points at (for gc: what is still referenced). */
  allOutputPaths(): Set<string> {
    return new Set((this.sql("SELECT DISTINCT path FROM step_outputs").all() as { path: string }[]).map((r) => r.path));
  }

  /** Every SHA-256 digest any record of the whole store names, in any table (for gc: blobs still named). */
  namedDigests(): Set<string> {
    return digestsNamedInStore(this.db);
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}

const RUN_SELECT = `SELECT r.*, e.name AS experiment FROM runs r JOIN experiments e ON e.id = r.experiment_id`;

function toRun(r: Raw): RunRow {
  return {
    id: r["id"] as string,
    experiment: r["experiment"] as string,
    status: r["status"] as RunStatus,
    source: r["source"] as string,
    createdAt: r["created_at"] as string,
    startedAt: (r["started_at"] as string | null) ?? null,
    endedAt: (r["ended_at"] as string | null) ?? null,
    error: (r["error"] as string | null) ?? null,
    parameters: JSON.parse(r["parameters"] as string) as Record<string, ParameterValue>,
    graph: JSON.parse(r["graph"] as string) as RunRow["graph"],
    owner: r["owner_pid"] == null ? null : { pid: r["owner_pid"] as number, host: r["owner_host"] as string, start: r["owner_start"] as string },
    git: r["git_commit"] == null ? null : { repo: r["git_repo"] as string, branch: r["git_branch"] as string, commit: r["git_commit"] as string, dirty: r["git_dirty"] === 1 },
  };
}

function toStep(r: Raw): StepRunRow {
  const io = JSON.parse(r["io"] as string) as { inputs: string[]; outputs: string[] };
  return {
    id: r["id"] as string,
    runId: r["run_id"] as string,
    name: r["name"] as string,
    ordinal: r["ordinal"] as number,
    kind: r["kind"] as StepKind,
    compute: r["compute"] as string,
    status: r["status"] as StepStatus,
    keyDigest: (r["key_digest"] as string | null) ?? null,
    keyComponents: r["key_components"] ? (JSON.parse(r["key_components"] as string) as KeyComponents) : null,
    decision: r["decision"] ? (JSON.parse(r["decision"] as string) as Decision) : null,
    reusedFrom: (r["reused_from"] as string | null) ?? null,
    startedAt: (r["started_at"] as string | null) ?? null,
    endedAt: (r["ended_at"] as string | null) ?? null,
    exitCode: (r["exit_code"] as number | null) ?? null,
    error: (r["error"] as string | null) ?? null,
    logDir: r["log_dir"] as string,
    inputs: io.inputs,
    outputs: io.outputs,
    pid: (r["pid"] as number | null) ?? null,
    pidStart: (r["pid_start"] as string | null) ?? null,
  };
}
