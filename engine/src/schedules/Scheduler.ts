import { unreachable } from "../errors/PipebookError.js";
import type { Workspace } from "../workspace/Workspace.js";
import { hashTree } from "../fingerprint/hashTree.js";
import { parseCron } from "./Schedule.js";
import { SchedulerLease } from "./SchedulerLease.js";
import { ScheduleStore, type ScheduleRow } from "../store/ScheduleStore.js";

/** Starts one run for a schedule; resolves to its run id, rejects with the reason it could not. */
export type FireSchedule = (schedule: ScheduleRow) => Promise<string>;

export interface SchedulerOptions {
  /** The clock (ms since the epoch); injectable so tests can move time. */
  readonly now?: () => number;
  /** Longest sleep between looks at the store (picks up schedules made or disabled meanwhile). */
  readonly maxWaitMs?: number;
  /** Counting missed ticks stops here (a per-second cron left for a month). */
  readonly maxCount?: number;
  readonly log?: (line: string) => void;
}

/** `active`: this server fires the schedules; `standby`: another server holds the lease. */
export type SchedulerState = "active" | "standby" | "stopped";

/** How often the holder renews its lease. */
const RENEW_MS = 10_000;

/**
 * Fires schedules while `pipebook serve` runs. Decisions are made from the store, so the
 * scheduler holds no state that a restart loses:
 * - a cron tick is due when it falls after the schedule's last handled tick;
 * - at start, every tick that fell while no server ran is reported once as `missed` and
 *   skipped, never run in a burst;
 * - if the loop falls behind (a blocked event loop), it fires the latest due tick once and
 *   reports the others missed;
 * - a watched datastore path is hashed every `pollSeconds`; a changed digest fires one run;
 * - one server per workspace fires (a lease); others stand by and take over when it stops.
 */
export class Scheduler {
  private readonly store: ScheduleStore;
  private readonly now: () => number;
  private readonly maxWaitMs: number;
  private readonly maxCount: number;
  private readonly nextWatch = new Map<string, number>();
  private readonly lease: SchedulerLease;
  private readonly log: (line: string) => void;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private holding = false;
  private renewedAt = 0;
  private toldStandby = false;
  /** Schedules that could not be evaluated, with the reason last reported for each. */
  private readonly failing = new Map<string, string>();

  constructor(
    private readonly ws: Workspace,
    private readonly fire: FireSchedule,
    options: SchedulerOptions = {},
  ) {
    this.store = new ScheduleStore(ws);
    this.now = options.now ?? Date.now;
    this.maxWaitMs = options.maxWaitMs ?? 1000;
    this.maxCount = options.maxCount ?? 100_000;
    this.log = options.log ?? (() => undefined);
    this.lease = new SchedulerLease(ws, this.now);
  }

  get state(): SchedulerState {
    return this.stopped ? "stopped" : this.holding ? "active" : "standby";
  }

  start(): void {
    this.ensureLease();
    this.schedule(0);
  }

  /** Holds (or renews) the lease; on taking it, first reports what fell while nobody held it. */
  private ensureLease(): boolean {
    const now = this.now();
    if (this.holding && now - this.renewedAt < RENEW_MS) return true;
    const state = this.lease.acquire();
    if (state.held) {
      this.renewedAt = now;
      if (!this.holding) {
        this.holding = true;
        this.toldStandby = false;
        this.catchUp(now);
      }
      return true;
    }
    if (this.holding || !this.toldStandby) {
      this.log(`pipebook scheduler: standby; the server with pid ${state.holder.pid} on ${state.holder.host} fires this workspace's schedules`);
      this.toldStandby = true;
    }
    this.holding = false;
    return false;
  }

  private catchUp(now: number): void {
    for (const s of this.store.list()) {
      if (!s.enabled || s.trigger.kind !== "cron") continue;
      try {
        const missed = this.dueTicks(s, now);
        if (missed.count > 0) {
          this.store.addEvent(s.id, "missed", `${missed.count}${missed.count >= this.maxCount ? "+" : ""} tick(s) from ${missed.first!.toISOString()} to ${missed.last!.toISOString()} fell while no pipebook server was running; not run`, null, new Date(now).toISOString());
        }
        this.store.setLastTick(s.id, new Date(now).toISOString());
      } catch (err) {
        this.failed(s, err);
      }
    }
  }

  /**
   * A schedule that cannot be read (one stored before its fields were checked, a zone the
   * runtime lost) fails alone: one `failed` event per distinct reason, and the others fire on.
   */
  private failed(s: ScheduleRow, err: unknown): void {
    const message = `this schedule cannot be evaluated, so it does not fire: ${err instanceof Error ? err.message : String(err)}`;
    if (this.failing.get(s.id) === message) return;
    this.failing.set(s.id, message);
    this.store.addEvent(s.id, "failed", message, null, new Date(this.now()).toISOString());
  }

  /** Stops the loop; a tick in progress finishes first. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    if (this.holding) this.lease.release();
    this.holding = false;
  }

  /** One look at every schedule; exposed so tests with an injected clock can step it. */
  async tick(): Promise<number> {
    if (!this.ensureLease()) return this.maxWaitMs * 5;
    const now = this.now();
    let wait = this.maxWaitMs;
    for (const s of this.store.list()) {
      if (!s.enabled || this.stopped) continue;
      try {
        wait = Math.min(wait, await this.tickOne(s, now));
        this.failing.delete(s.id);
      } catch (err) {
        this.failed(s, err);
      }
    }
    return Math.max(5, wait);
  }

  /** Fires one schedule if it is due; resolves to how long until it is due next. */
  private async tickOne(s: ScheduleRow, now: number): Promise<number> {
    const trigger = s.trigger;
    switch (trigger.kind) {
      case "cron": {
        const due = this.dueTicks(s, now);
        if (due.count > 0) {
          this.store.setLastTick(s.id, due.last!.toISOString());
          if (due.count > 1) this.store.addEvent(s.id, "missed", `${due.count - 1} tick(s) from ${due.first!.toISOString()} fell while the server was busy; not run`, null, new Date(now).toISOString());
          await this.fireOne(s, `cron tick ${due.last!.toISOString()}`);
        }
        const next = parseCron(trigger.cron, trigger.timezone).nextRun(new Date(Math.max(now, due.last?.getTime() ?? 0)));
        return next ? next.getTime() - now : Infinity;
      }
      case "datastore": {
        const at = this.nextWatch.get(s.id) ?? 0;
        if (now >= at) {
          this.nextWatch.set(s.id, now + trigger.pollSeconds * 1000);
          await this.watch(s, trigger.datastore, trigger.path);
        }
        return (this.nextWatch.get(s.id) ?? now) - now;
      }
      default:
        return unreachable(trigger);
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().then(
        (wait) => this.schedule(wait),
        (err: unknown) => {
          process.stderr.write(`pipebook scheduler: ${err instanceof Error ? err.message : String(err)}\n`);
          this.schedule(this.maxWaitMs);
        },
      );
    }, ms);
  }

  private dueTicks(s: ScheduleRow, now: number): { count: number; first?: Date; last?: Date } {
    if (s.trigger.kind !== "cron") return { count: 0 };
    const cron = parseCron(s.trigger.cron, s.trigger.timezone);
    let ref = new Date(s.lastTickAt ?? s.createdAt);
    let count = 0;
    let first: Date | undefined;
    let last: Date | undefined;
    for (;;) {
      const next = cron.nextRun(ref);
      if (!next || next.getTime() > now || count >= this.maxCount) break;
      count++;
      first ??= next;
      last = next;
      ref = next;
    }
    return { count, ...(first && { first }), ...(last && { last }) };
  }

  private async watch(s: ScheduleRow, datastoreName: string, path: string): Promise<void> {
    const datastore = this.ws.getDatastore(datastoreName);
    if (!datastore) {
      this.store.addEvent(s.id, "failed", `datastore "${datastoreName}" does not exist`, null, new Date(this.now()).toISOString());
      return;
    }
    // A blob datastore's path is digested from its blobs' Content-MD5 (a listing, no download).
    const current = datastore.kind === "local" ? hashTree(datastore.resolve(path), { cache: this.ws.statCache, pool: this.ws.hashPool }) : datastore.content(path);
    const digest = await current.then(
      (t) => String(t.digest),
      () => "absent",
    );
    if (s.watchDigest === digest) return;
    this.store.setWatchDigest(s.id, digest);
    const at = new Date(this.now()).toISOString();
    if (s.watchDigest === null) {
      this.store.addEvent(s.id, "baseline", `watching ${datastoreName}:${path} (${digest === "absent" ? "absent" : digest.slice(0, 12)})`, null, at);
      return;
    }
    await this.fireOne(s, `${datastoreName}:${path} changed`);
  }

  private async fireOne(s: ScheduleRow, why: string): Promise<void> {
    const at = new Date(this.now()).toISOString();
    try {
      const runId = await this.fire(s);
      this.store.addEvent(s.id, "fired", why, runId, at);
    } catch (err) {
      this.store.addEvent(s.id, "failed", `${why}: ${err instanceof Error ? err.message : String(err)}`, null, at);
    }
  }
}
