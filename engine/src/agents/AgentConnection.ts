import { WebSocket } from "ws";
import { AGENT_PATH, type AgentMessage, type ServerMessage } from "../compute/remote/agentProtocol.js";

/** What the agent hears from its connection. */
export interface ConnectionHandlers {
  opened(): void;
  message(m: ServerMessage): void;
  /** The connection closed or never opened; `refused` when the server will not take this agent (a bad token). */
  closed(reason: string, refused: boolean): void;
}

/**
 * One dial-out WebSocket to `pipebook serve` (the agent needs no open port): the token in the
 * Authorization header, JSON frames both ways. A closed connection is not reopened here: the
 * agent decides when to dial again.
 */
export class AgentConnection {
  private readonly socket: WebSocket;
  private ended = false;

  constructor(server: string, token: string, handlers: ConnectionHandlers) {
    const url = new URL(AGENT_PATH, server.replace(/^http/, "ws"));
    this.socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, maxPayload: 64 * 1024 * 1024, handshakeTimeout: 10_000 });
    const end = (reason: string, refused: boolean): void => {
      if (this.ended) return;
      this.ended = true;
      handlers.closed(reason, refused);
    };
    this.socket.on("open", () => handlers.opened());
    this.socket.on("message", (data) => {
      let m: ServerMessage;
      try {
        m = JSON.parse(String(data)) as ServerMessage;
      } catch {
        return;
      }
      handlers.message(m);
    });
    this.socket.on("unexpected-response", (_req, res) => {
      const refused = res.statusCode === 401 || res.statusCode === 403;
      end(`the server answered ${res.statusCode}${refused ? " (the token is not an agent token of this server)" : ""}`, refused);
      this.socket.terminate();
    });
    this.socket.on("close", (code, reason) => end(`connection closed (${code}${reason.length > 0 ? `: ${String(reason)}` : ""})`, false));
    this.socket.on("error", (err) => end(err.message, false));
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  send(m: AgentMessage): boolean {
    if (!this.open) return false;
    this.socket.send(JSON.stringify(m));
    return true;
  }

  /** Closes without a goodbye (tests drop connections this way too). */
  terminate(): void {
    this.socket.terminate();
  }

  close(): void {
    this.socket.close(1000, "agent stopping");
  }
}
