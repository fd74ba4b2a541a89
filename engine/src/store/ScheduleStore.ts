import type { ParameterValue } from "../contract/runView.js";
import type { Workspace } from "../workspace/Workspace.js";

/** What a schedule runs: a published pipeline, or an endpoint (its default version unless one is named). */
export type ScheduleTarget =
  | { readonly kind: "pipeline"; readonly id: string }
  | { readonly kind: "endpoint"; readonly name: string; readonly version?: string };

/** When it runs: on a cron expression (5 fields, or 6 with seconds), or when a datastore path changes. */
export type ScheduleTrigger =
  | { readonly kind: "cron"; readonly cron: string; readonly timezone?: string }
  | { readonly kind: "datastore"; readonly datastore: string; readonly path: string; readonly pollSeconds: number };

/**
 * `fired`: a run was started. `missed`: ticks fell while no server was running, reported and not
 * run. `failed`: a tick or change could not start a run (disabled pipeline, full queue, bad
 * parameters). `baseline`: the first look at a watched path, recorded so later changes count.
 */
export type ScheduleEventKind = "fired" | "missed" | "failed" | "baseline";

export interface ScheduleRow {
  readonly id: string;
  readonly name: string;
  readonly target: ScheduleTarget;
  readonly experiment: string;
  readonly parameters: Readonly<Record<string, ParameterValue>>;
  readonly trigger: ScheduleTrigger;
  readonly enabled: boolean;
  readonly createdAt: string;
  /** The last tick handled (fired, failed or reported missed): ticks after it are due. */
  readonly lastTickAt: string | null;
  /** Content digest of a watched path when last looked at. */
  readonly watchDigest: string | null;
}

export interface ScheduleEvent {
  readonly id: number;
  readonly scheduleId: string;
  readonly at: string;
  readonly kind: ScheduleEventKind;
  readonly runId: string | null;
  readonly detail: string;
}

type Raw = Record<string, unknown>;

/** Schedules and their event history: every SQL statement of scheduling lives here. */
export class ScheduleStore {
  constructor(private readonly ws: Workspace) {}

  insert(row: ScheduleRow): void {
    this.ws.db
      .prepare("INSERT INTO schedules(id, name, target, experiment, parameters, trigger, enabled, created_at, last_tick_at, watch_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .run(row.id, row.name, JSON.stringify(row.target), row.experiment, JSON.stringify(row.parameters), JSON.stringify(row.trigger), row.enabled ? 1 : 0, row.createdAt, row.lastTickAt, row.watchDigest);
  }

  get(id: string): ScheduleRow | undefined {
    const r = this.ws.db.prepare("SELECT * FROM schedules WHERE id = ?").get(id) as Raw | undefined;
    return r && toRow(r);
  }

  list(): ScheduleRow[] {
    return (this.ws.db.prepare("SELECT * FROM schedules ORDER BY created_at, rowid").all() as Raw[]).map(toRow);
  }

  /** Enabling restarts the tick count from now: ticks while disabled were wanted off, not missed. */
  setEnabled(id: string, enabled: boolean): boolean {
    const result = enabled
      ? this.ws.db.prepare("UPDATE schedules SET enabled = 1, last_tick_at = ? WHERE id = ?").run(new Date().toISOString(), id)
      : this.ws.db.prepare("UPDATE schedules SET enabled = 0 WHERE id = ?").run(id);
    return result.changes === 1;
  }

  setLastTick(id: string, at: string): void {
    this.ws.db.prepare("UPDATE schedules SET last_tick_at = ? WHERE id = ?").run(at, id);
  }

  setWatchDigest(id: string, digest: string): void {
    this.ws.db.prepare("UPDATE schedules SET watch_digest = ? WHERE id = ?").run(digest, id);
  }

  addEvent(scheduleId: string, kind: ScheduleEventKind, detail: string, runId: string | null, at: string): void {
    this.ws.db.prepare("INSERT INTO schedule_events(schedule_id, at, kind, run_id, detail) VALUES (?, ?, ?, ?, ?)").run(scheduleId, at, kind, runId, detail);
  }

  events(scheduleId: string, limit = 100): ScheduleEvent[] {
    const rows = this.ws.db.prepare("SELECT * FROM schedule_events WHERE schedule_id = ? ORDER BY id DESC LIMIT ?").all(scheduleId, limit) as Raw[];
    return rows.reverse().map((r) => ({
      id: r["id"] as number,
      scheduleId: r["schedule_id"] as string,
      at: r["at"] as string,
      kind: r["kind"] as ScheduleEventKind,
      runId: (r["run_id"] as string | null) ?? null,
      detail: r["detail"] as string,
    }));
  }
}

function toRow(r: Raw): ScheduleRow {
  return {
    id: r["id"] as string,
    name: r["name"] as string,
    target: JSON.parse(r["target"] as string) as ScheduleTarget,
    experiment: r["experiment"] as string,
    parameters: JSON.parse(r["parameters"] as string) as Record<string, ParameterValue>,
    trigger: JSON.parse(r["trigger"] as string) as ScheduleTrigger,
    enabled: r["enabled"] === 1,
    createdAt: r["created_at"] as string,
    lastTickAt: (r["last_tick_at"] as string | null) ?? null,
    watchDigest: (r["watch_digest"] as string | null) ?? null,
  };
}
