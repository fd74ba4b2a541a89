import { param } from "./param.js";
import { Router } from "express";
import { PublishedPipeline } from "../publish/PublishedPipeline.js";
import { runSummary } from "./runSummary.js";
import { ListRunsQuerySchema, parseWith } from "./schemas.js";
import type { ServerContext } from "./ServerContext.js";
import { submitFromRequest } from "./submitFromRequest.js";

/** Published pipelines: list, look, run, disable/enable. */
export function pipelineRoutes(ctx: ServerContext): Router {
  const r = Router();
  const { ws, auth } = ctx;
  r.get("/pipelines", auth.require("read"), (req, res) => {
    res.json(PublishedPipeline.list(ws, { includeDisabled: req.query["includeDisabled"] === "true" }).map((p) => p.toJSON()));
  });
  r.get("/pipelines/:id", auth.require("read"), async (req, res) => {
    res.json((await PublishedPipeline.get(ws, param(req, "id"))).toJSON());
  });
  r.get("/pipelines/:id/runs", auth.require("read"), async (req, res) => {
    const { limit } = parseWith(ListRunsQuerySchema, req.query, "query");
    const pipeline = await PublishedPipeline.get(ws, param(req, "id"));
    res.json({ runs: pipeline.runIds(limit ?? 50).flatMap((id) => {
      const run = ws.runs.getRun(id);
      return run ? [runSummary(run)] : [];
    }) });
  });
  r.post("/pipelines/:id/runs", auth.require("runs:submit"), async (req, res) => {
    await submitFromRequest(ctx, req, res, { kind: "pipeline", id: param(req, "id") });
  });
  for (const action of ["disable", "enable"] as const) {
    r.post(`/pipelines/:id/${action}`, auth.require("publish"), async (req, res) => {
      const p = await PublishedPipeline.get(ws, param(req, "id"));
      await (action === "disable" ? p.disable() : p.enable());
      res.json(p.toJSON());
    });
  }
  return r;
}
