import type { Db } from "./openDatabase.js";
import { perWorkspace, StatementCache } from "./StatementCache.js";

export interface LeaseRow {
  readonly token: string;
  readonly pid: number;
  readonly host: string;
  readonly start: string;
  readonly heartbeatAt: number;
}

/** The one-row `scheduler_lease` table (schedules/SchedulerLease decides who may hold it). */
export class LeaseStore extends StatementCache {
  static readonly of = perWorkspace((ws) => new LeaseStore(ws.db));

  private constructor(db: Db) {
    super(db);
  }

  /** Runs `decide` on the current holder in one immediate transaction; `decide` returns the row to write, if any. */
  update<T>(decide: (current: LeaseRow | undefined) => { readonly write?: LeaseRow; readonly result: T }): T {
    return this.db
      .transaction((): T => {
        const r = this.sql("SELECT token, owner_pid, owner_host, owner_start, heartbeat_at FROM scheduler_lease WHERE id = 1").get() as
          | { token: string; owner_pid: number; owner_host: string; owner_start: string; heartbeat_at: number }
          | undefined;
        const { write, result } = decide(r && { token: r.token, pid: r.owner_pid, host: r.owner_host, start: r.owner_start, heartbeatAt: r.heartbeat_at });
        if (write) {
          this.sql("INSERT OR REPLACE INTO scheduler_lease(id, token, owner_pid, owner_host, owner_start, heartbeat_at) VALUES (1, ?, ?, ?, ?, ?)")
            .run(write.token, write.pid, write.host, write.start, write.heartbeatAt);
        }
        return result;
      })
      .immediate();
  }

  release(token: string): void {
    this.sql("DELETE FROM scheduler_lease WHERE id = 1 AND token = ?").run(token);
  }
}
