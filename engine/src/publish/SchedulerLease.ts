import { randomBytes } from "node:crypto";
import type { Workspace } from "../workspace/Workspace.js";
import { currentOwner, isAlive } from "../compute/processIdentity.js";

/** A holder whose heartbeat is older than this is taken over even if its process looks alive (another host). */
const STALE_MS = 60_000;

export type LeaseState = { readonly held: true } | { readonly held: false; readonly holder: { readonly pid: number; readonly host: string } };

/**
 * Which `pipebook serve` fires a workspace's schedules. Two servers on one workspace (a user's and
 * the workbench's) would otherwise both fire every tick. The lease is one row: taken when free,
 * when its holder's process is gone, or when its heartbeat is stale; released on stop.
 */
export class SchedulerLease {
  private readonly me = { ...currentOwner(), token: randomBytes(8).toString("hex") };

  constructor(
    private readonly ws: Workspace,
    private readonly now: () => number,
  ) {}

  /** Takes the lease or renews it; tells who holds it otherwise. */
  acquire(): LeaseState {
    return this.ws.db
      .transaction((): LeaseState => {
        const row = this.ws.db.prepare("SELECT token, owner_pid, owner_host, owner_start, heartbeat_at FROM scheduler_lease WHERE id = 1").get() as
          | { token: string; owner_pid: number; owner_host: string; owner_start: string; heartbeat_at: number }
          | undefined;
        const now = this.now();
        if (row && row.token !== this.me.token) {
          const sameHostAlive = row.owner_host === this.me.host ? isAlive(row.owner_pid, row.owner_start) : true;
          if (sameHostAlive && now - row.heartbeat_at < STALE_MS) return { held: false, holder: { pid: row.owner_pid, host: row.owner_host } };
        }
        this.ws.db
          .prepare("INSERT OR REPLACE INTO scheduler_lease(id, token, owner_pid, owner_host, owner_start, heartbeat_at) VALUES (1, ?, ?, ?, ?, ?)")
          .run(this.me.token, this.me.pid, this.me.host, this.me.start, now);
        return { held: true };
      })
      .immediate();
  }

  release(): void {
    this.ws.db.prepare("DELETE FROM scheduler_lease WHERE id = 1 AND token = ?").run(this.me.token);
  }
}
