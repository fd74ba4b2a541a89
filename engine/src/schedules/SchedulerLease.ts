import { randomBytes } from "node:crypto";
import type { Workspace } from "../workspace/Workspace.js";
import { currentOwner, isAlive } from "../compute/processIdentity.js";
import { LeaseStore } from "../store/LeaseStore.js";

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
    return LeaseStore.of(this.ws).update<LeaseState>((row) => {
      const now = this.now();
      if (row && row.token !== this.me.token) {
        const sameHostAlive = row.host === this.me.host ? isAlive(row.pid, row.start) : true;
        if (sameHostAlive && now - row.heartbeatAt < STALE_MS) return { result: { held: false, holder: { pid: row.pid, host: row.host } } };
      }
      return { write: { token: this.me.token, pid: this.me.pid, host: this.me.host, start: this.me.start, heartbeatAt: now }, result: { held: true } };
    });
  }

  release(): void {
    LeaseStore.of(this.ws).release(this.me.token);
  }
}
