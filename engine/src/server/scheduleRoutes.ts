import { param } from "./param.js";
import { Router } from "express";
import { Schedule } from "../schedules/Schedule.js";
import type { ScheduleTarget, ScheduleTrigger } from "../store/ScheduleStore.js";
import { parseWith, ScheduleRequestSchema } from "./schemas.js";
import type { ServerContext } from "./ServerContext.js";

/** Schedules and triggers: list, their events (fired, missed, failed), disable/enable. */
export function scheduleRoutes(ctx: ServerContext): Router {
  const r = Router();
  const { ws, auth } = ctx;
  r.get("/schedules", auth.require("read"), (_req, res) => {
    res.json(Schedule.list(ws).map((s) => s.toJSON()));
  });
  r.post("/schedules", auth.require("publish"), async (req, res) => {
    const b = parseWith(ScheduleRequestSchema, req.body, "body");
    const target: ScheduleTarget = b.pipelineId !== undefined ? { kind: "pipeline", id: b.pipelineId } : { kind: "endpoint", name: b.endpoint!, ...(b.version !== undefined && { version: b.version }) };
    const trigger: ScheduleTrigger = b.cron !== undefined
      ? { kind: "cron", cron: b.cron, ...(b.timezone !== undefined && { timezone: b.timezone }) }
      : { kind: "datastore", datastore: b.watch!.datastore, path: b.watch!.path, pollSeconds: b.watch!.pollSeconds ?? 10 };
    const created = await Schedule.create(ws, { name: b.name, target, experiment: b.experiment, trigger, ...(b.ParameterAssignments !== undefined && { parameterAssignments: b.ParameterAssignments }) });
    res.status(201).json(created.toJSON());
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
