import { param } from "./param.js";
import { Router } from "express";
import { Schedule } from "../publish/Schedule.js";
import type { ServerContext } from "./ServerContext.js";

/** Schedules and triggers: list, their events (fired, missed, failed), disable/enable. */
export function scheduleRoutes(ctx: ServerContext): Router {
  const r = Router();
  const { ws, auth } = ctx;
  r.get("/schedules", auth.require("read"), (_req, res) => {
    res.json(Schedule.list(ws).map((s) => s.toJSON()));
  });
  r.get("/schedules/:id/events", auth.require("read"), async (req, res) => {
    res.json((await Schedule.get(ws, param(req, "id"))).events());
  });
  for (const action of ["disable", "enable"] as const) {
    r.post(`/schedules/:id/${action}`, auth.require("publish"), async (req, res) => {
      const s = await Schedule.get(ws, param(req, "id"));
      await (action === "disable" ? s.disable() : s.enable());
      res.json(s.toJSON());
    });
  }
  return r;
}
