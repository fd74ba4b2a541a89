import { unreachable } from "../errors/PipebookError.js";
import type { ScheduleReply } from "../contract/rest.js";
import { randomBytes } from "node:crypto";
import { Cron } from "croner";
import type { ParameterValue } from "../contract/runView.js";
import { PipelineParameter } from "../dsl/PipelineParameter.js";
import type { Workspace } from "../workspace/Workspace.js";
import { resolveParameters } from "../runner/resolveParameters.js";
import { EXPERIMENT_PATTERN } from "../contract/names.js";
import { checkName } from "../publish/names.js";
import { PublishError } from "../publish/PublishError.js";
import { resolveTarget } from "../publish/resolveTarget.js";
import { ScheduleStore, type ScheduleEvent, type ScheduleRow, type ScheduleTarget, type ScheduleTrigger } from "../store/ScheduleStore.js";

export interface ScheduleOptions {
  readonly name: string;
  readonly target: ScheduleTarget;
  readonly experiment: string;
  readonly trigger: ScheduleTrigger;
  readonly parameterAssignments?: Readonly<Record<string, unknown>>;
}

/**
 * Checks a cron expression and zone the way the scheduler will read them; the message says what
 * is wrong. croner takes a 7th (year) field and any zone name at construction, and only throws
 * for a bad zone when it computes a tick: such a schedule was accepted and then failed every
 * tick, so both are checked here.
 */
export function parseCron(expression: string, timezone?: string): Cron {
  const fields = expression.trim().split(/\s+/).length;
  if (!expression.trim().startsWith("@") && fields !== 5 && fields !== 6) {
    throw new PublishError({ reason: "invalid", field: "cron", message: `"${expression}" is not a cron expression: it has ${fields} field(s), and one has 5 (minute hour day month weekday) or 6 (seconds first)` });
  }
  if (timezone !== undefined) {
    try {
      new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    } catch {
      throw new PublishError({ reason: "invalid", field: "timezone", message: `"${timezone}" is not an IANA time zone (such as "Europe/Berlin" or "UTC")` });
    }
  }
  try {
    const cron = new Cron(expression, { paused: true, ...(timezone !== undefined && { timezone }) });
    cron.nextRun();
    return cron;
  } catch (err) {
    throw new PublishError({ reason: "invalid", field: "cron", message: `"${expression}" is not a cron expression (${err instanceof Error ? err.message : String(err)})` });
  }
}

/**
 * A recurring or data-triggered run of a published pipeline or endpoint (the seeds' schedules).
 * Schedules are stored in the workspace and fire while `pipebook serve` runs; ticks that fall
 * while no server runs are reported as missed, never replayed.
 */
export class Schedule {
  private constructor(
    readonly workspace: Workspace,
    private row: ScheduleRow,
  ) {}

  get id(): string {
    return this.row.id;
  }
  get name(): string {
    return this.row.name;
  }
  get enabled(): boolean {
    return this.row.enabled;
  }
  get target(): ScheduleTarget {
    return this.row.target;
  }
  get trigger(): ScheduleTrigger {
    return this.row.trigger;
  }
  get experiment(): string {
    return this.row.experiment;
  }
  get parameters(): Readonly<Record<string, ParameterValue>> {
    return this.row.parameters;
  }
  get lastTickAt(): string | null {
    return this.row.lastTickAt;
  }

  /** Validates the target, the trigger and the parameters now, so a schedule never fails on its first tick for a typo. */
  static async create(ws: Workspace, options: ScheduleOptions): Promise<Schedule> {
    checkName("name", options.name);
    if (!EXPERIMENT_PATTERN.test(options.experiment)) {
      throw new PublishError({ reason: "invalid", field: "experiment", message: `"${options.experiment}" must start with a letter or digit and hold only letters, digits, _ . -` });
    }
    const { pipeline } = await resolveTarget(ws, options.target);
    const declared = pipeline.parameters.map((p) => new PipelineParameter(p.name, p.defaultValue));
    const resolved = resolveParameters(declared, options.parameterAssignments);
    const assigned = Object.fromEntries(Object.keys(options.parameterAssignments ?? {}).map((k) => [k, resolved[k]!]));
    const trigger = options.trigger;
    switch (trigger.kind) {
      case "cron":
        parseCron(trigger.cron, trigger.timezone);
        break;
      case "datastore":
        if (!ws.getDatastore(trigger.datastore)) throw new PublishError({ reason: "invalid", field: "datastore", message: `no datastore "${trigger.datastore}" in this workspace` });
        { const store = ws.getDatastore(trigger.datastore)!; if (store.kind === "local") store.resolve(trigger.path); }
        if (!(Number.isInteger(trigger.pollSeconds) && trigger.pollSeconds >= 1)) {
          throw new PublishError({ reason: "invalid", field: "pollSeconds", message: `must be a whole number of seconds ≥ 1, got ${trigger.pollSeconds}` });
        }
        break;
      default:
        return unreachable(trigger);
    }
    const row: ScheduleRow = {
      id: `sch-${randomBytes(4).toString("hex")}`,
      name: options.name,
      target: options.target,
      experiment: options.experiment,
      parameters: assigned,
      trigger,
      enabled: true,
      createdAt: new Date().toISOString(),
      lastTickAt: null,
      watchDigest: null,
    };
    new ScheduleStore(ws).insert(row);
    return new Schedule(ws, row);
  }

  static get(ws: Workspace, id: string): Promise<Schedule> {
    const row = new ScheduleStore(ws).get(id);
    if (!row) return Promise.reject(new PublishError({ reason: "schedule-not-found", id }));
    return Promise.resolve(new Schedule(ws, row));
  }

  static list(ws: Workspace): Schedule[] {
    return new ScheduleStore(ws).list().map((row) => new Schedule(ws, row));
  }

  disable(): Promise<void> {
    return this.setEnabled(false);
  }

  enable(): Promise<void> {
    return this.setEnabled(true);
  }

  /** What happened: runs fired, ticks missed while no server ran, ticks that failed. */
  events(limit = 100): ScheduleEvent[] {
    return new ScheduleStore(this.workspace).events(this.id, limit);
  }

  toJSON(): ScheduleReply {
    return { ...this.row };
  }

  private setEnabled(enabled: boolean): Promise<void> {
    if (!new ScheduleStore(this.workspace).setEnabled(this.id, enabled)) return Promise.reject(new PublishError({ reason: "schedule-not-found", id: this.id }));
    this.row = { ...this.row, enabled };
    return Promise.resolve();
  }
}
