import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { LiveFrame } from "../contract/rest.js";
import { hasScope } from "../auth/ApiTokens.js";
import type { Authenticator } from "./Authenticator.js";
import { originAllowed } from "./cors.js";
import type { ServerContext } from "./ServerContext.js";

const LIVE_PATH = /^\/runs\/([^/]+)\/live$/;

/**
 * `GET /runs/{id}/live` upgraded to a WebSocket: the run's view as `{type: "view", view}` on
 * every change until it ends, then a normal close. Browsers cannot set headers on a WebSocket,
 * so the token may come as `?access_token=`.
 */
export function attachLiveSocket(ctx: ServerContext, auth: Authenticator, origins: readonly string[], maxStreams: number): { handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void; close: () => void } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  const refuse = (socket: Duplex, status: string): void => {
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };
  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on("error", () => socket.destroy());
    const url = new URL(req.url ?? "/", "http://x");
    const m = LIVE_PATH.exec(url.pathname);
    if (!m) return refuse(socket, "404 Not Found");
    if (!originAllowed(req.headers.origin, req.headers.host, origins)) return refuse(socket, "403 Forbidden");
    const caller = auth.identify(req, true);
    if (!caller) return refuse(socket, "401 Unauthorized");
    if (!hasScope(caller.scopes, "read")) return refuse(socket, "403 Forbidden");
    let runId: string;
    try {
      runId = decodeURIComponent(m[1]!);
    } catch {
      return refuse(socket, "400 Bad Request"); // a malformed escape such as %E0%A4%A
    }
    if (!ctx.ws.runs.getRun(runId)) return refuse(socket, "404 Not Found");
    if (ctx.feeds.streams >= maxStreams) return refuse(socket, "503 Service Unavailable");
    wss.handleUpgrade(req, socket, head, (client: WebSocket) => {
      const unsubscribe = ctx.feeds.subscribe(
        runId,
        (view) => client.send(JSON.stringify({ type: "view", view } satisfies LiveFrame)),
        () => client.close(1000, "run ended"),
      );
      client.on("close", unsubscribe);
      client.on("error", unsubscribe);
    });
  };
  return {
    handleUpgrade,
    close: () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
    },
  };
}
