import type { IncomingMessage } from "node:http";
import { hostname } from "node:os";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { hasScope } from "../auth/ApiTokens.js";
import { AgentPool, type AgentLink } from "../compute/remote/AgentPool.js";
import { AGENT_PATH, type AgentMessage, type ServerMessage } from "../compute/remote/agentProtocol.js";
import { AgentStore } from "../store/AgentStore.js";
import type { Workspace } from "../workspace/Workspace.js";
import { callerKey, type Authenticator } from "./Authenticator.js";

export interface AgentHubOptions {
  /** How often agents heartbeat (default 2 s). */
  readonly heartbeatMs?: number;
  /**
   * How long an agent may be silent or disconnected before its steps fail as lost (default 10 s;
   * PIPEBOOK_AGENT_GRACE_MS). A step on an agent that dies fails within this plus one sweep (≤ 1 s).
   */
  readonly graceMs?: number;
}

/** An agent must say hello this soon after connecting. */
const HELLO_TIMEOUT_MS = 10_000;
/** Rows of `pipebook agents` are refreshed this often even when nothing changes. */
const STORE_REFRESH_MS = 3000;
const AGENT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

export interface AgentHub {
  readonly pool: AgentPool;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  close(): void;
}

/**
 * `GET /agents/connect` upgraded to a WebSocket: agents dial in with a token of scope `agent`
 * (or `admin`), say hello, heartbeat, and take and report jobs. Frames go to the workspace's
 * AgentPool, which the remote compute targets of this process queue on; what surfaces show is
 * written to the store (AgentStore) on every change.
 */
export function attachAgentHub(ws: Workspace, auth: Authenticator, options: AgentHubOptions, log: (line: string) => void): AgentHub {
  const graceMs = options.graceMs ?? (Number(process.env["PIPEBOOK_AGENT_GRACE_MS"]) || 10_000);
  const store = AgentStore.of(ws);
  let closed = false;
  const server = { pid: process.pid, host: hostname() };
  const pool = AgentPool.open(ws.dir, {
    heartbeatMs: options.heartbeatMs ?? Math.max(50, Math.min(2000, Math.floor(graceMs / 4))),
    graceMs,
    log,
    onChange: (agents) => {
      if (closed) return;
      try {
        store.write(agents, server, Date.now());
      } catch (err) {
        log(`recording agents failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
  });
  const refresh = setInterval(() => pool.list().length > 0 && store.write(pool.list(), server, Date.now()), STORE_REFRESH_MS);
  refresh.unref();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });
  const refuse = (socket: Duplex, status: string): void => {
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };

  const accept = (client: WebSocket, token: string): void => {
    let name: string | undefined;
    const link: AgentLink = {
      send: (m: ServerMessage) => client.send(JSON.stringify(m)),
      close: (reason) => client.close(4000, reason.slice(0, 120)),
    };
    const hello = setTimeout(() => client.close(4001, "no hello"), HELLO_TIMEOUT_MS);
    client.on("message", (data) => {
      let m: AgentMessage;
      try {
        m = JSON.parse(String(data)) as AgentMessage;
      } catch {
        return client.close(4002, "frames are JSON");
      }
      if (name === undefined) {
        if (m.type !== "hello" || typeof m.name !== "string" || !AGENT_NAME.test(m.name) || typeof m.instance !== "string") {
          link.send({ type: "refused", reason: "the first frame must be hello with a name of letters, digits, '_', '.' or '-'" });
          return client.close(4003, "bad hello");
        }
        clearTimeout(hello);
        if (pool.connect(m, link, token)) name = m.name;
        return;
      }
      pool.message(name, link, m);
    });
    const gone = (): void => {
      clearTimeout(hello);
      if (name !== undefined) pool.disconnected(name, link);
    };
    client.on("close", gone);
    client.on("error", gone);
  };

  return {
    pool,
    handleUpgrade(req, socket, head) {
      const url = new URL(req.url ?? "/", "http://x");
      if (url.pathname !== AGENT_PATH) return false;
      socket.on("error", () => socket.destroy());
      const caller = auth.identify(req, false);
      if (!caller) {
        refuse(socket, "401 Unauthorized");
        return true;
      }
      if (!hasScope(caller.scopes, "agent")) {
        refuse(socket, "403 Forbidden");
        return true;
      }
      wss.handleUpgrade(req, socket, head, (client) => accept(client, callerKey(caller)));
      return true;
    },
    close() {
      clearInterval(refresh);
      pool.close();
      try {
        store.write(pool.list().map((a) => ({ ...a, status: "offline" as const })), server, Date.now());
      } catch {
        // The store is closing with the server: `pipebook agents` then reads the rows as stale.
      }
      closed = true;
      for (const c of wss.clients) c.terminate();
      wss.close();
    },
  };
}
