import type { AgentState } from "../compute/remote/AgentPool.js";
import type { Db } from "./openDatabase.js";
import { perWorkspace, StatementCache } from "./StatementCache.js";

/** An agent as its server last wrote it, and when. */
export interface AgentRow {
  readonly state: AgentState;
  readonly serverPid: number;
  readonly serverHost: string;
  /** Epoch ms of the server's last write: a server writes at least every few seconds while it runs. */
  readonly updatedAt: number;
}

/**
 * The `agents` table: what the server holding the agents saw (their inventory, slots and steps),
 * so that `pipebook agents` in another process can show them. The server is the truth; a row is
 * only as fresh as `updatedAt`.
 */
export class AgentStore extends StatementCache {
  static readonly of = perWorkspace((ws) => new AgentStore(ws.db));

  private constructor(db: Db) {
    super(db);
  }

  /** On a database opened without a Workspace (openRunHistory: what `pipebook agents` reads). */
  static onDatabase(db: Db): AgentStore {
    return new AgentStore(db);
  }

  /** Replaces the rows of these agents, in one transaction. */
  write(agents: readonly AgentState[], server: { pid: number; host: string }, at: number): void {
    this.db.transaction(() => {
      for (const a of agents) {
        this.sql("INSERT OR REPLACE INTO agents(name, state, server_pid, server_host, updated_at) VALUES (?, ?, ?, ?, ?)").run(a.name, JSON.stringify(a), server.pid, server.host, at);
      }
    })();
  }

  list(): AgentRow[] {
    const rows = this.sql("SELECT state, server_pid, server_host, updated_at FROM agents ORDER BY name").all() as { state: string; server_pid: number; server_host: string; updated_at: number }[];
    return rows.map((r) => ({ state: JSON.parse(r.state) as AgentState, serverPid: r.server_pid, serverHost: r.server_host, updatedAt: r.updated_at }));
  }
}
