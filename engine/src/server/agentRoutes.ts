import { Router } from "express";
import type { AgentList } from "../contract/rest.js";
import type { RemoteTargetConfig } from "../dsl/workspaceConfigSchema.js";
import type { AgentHub } from "./agentHub.js";
import { HttpError } from "./HttpError.js";
import type { ServerContext } from "./ServerContext.js";

/** `GET /agents`: the hub's agents with their slots, and each remote target's queue. */
export function agentRoutes(ctx: ServerContext, hub: AgentHub): Router {
  const r = Router();
  r.get("/agents", ctx.auth.require("read"), (_req, res) => {
    const pools = [...ctx.ws.computeTargets].flatMap(([name, config]) =>
      config.kind === "remote" ? [{ name, labels: (config as RemoteTargetConfig).labels, waiting: [...hub.pool.waiting(name)] }] : [],
    );
    res.json({ agents: hub.pool.list(), pools } satisfies AgentList);
  });
  // The WebSocket agents dial is an upgrade (agentHub.ts); a plain request learns what it is.
  r.get("/agents/connect", ctx.auth.require("agent"), () => {
    throw new HttpError(426, "GET /agents/connect is the WebSocket pipebook agent dials: send it as an upgrade (Upgrade: websocket)", { headers: { Upgrade: "websocket" } });
  });
  return r;
}
