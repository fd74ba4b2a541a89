import { Router } from "express";
import type { AgentList } from "../contract/rest.js";
import type { RemoteTargetConfig } from "../dsl/workspaceConfigSchema.js";
import type { AgentHub } from "./agentHub.js";
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
  return r;
}
