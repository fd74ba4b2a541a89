import { param } from "./param.js";
import { Router } from "express";
import { PipelineEndpoint } from "../publish/PipelineEndpoint.js";
import { runSummary } from "./runSummary.js";
import { DefaultVersionRequestSchema, EndpointRunQuerySchema, ListRunsQuerySchema, parseWith } from "./schemas.js";
import type { ServerContext } from "./ServerContext.js";
import { submitFromRequest } from "./submitFromRequest.js";

/** Versioned pipeline endpoints: list, look, run a version (default unless `?version=`), change the default. */
export function endpointRoutes(ctx: ServerContext): Router {
  const r = Router();
  const { ws, auth } = ctx;
  r.get("/endpoints", auth.require("read"), (_req, res) => {
    res.json(PipelineEndpoint.list(ws).map((e) => e.toJSON()));
  });
  r.get("/endpoints/:name", auth.require("read"), async (req, res) => {
    res.json((await PipelineEndpoint.get(ws, param(req, "name"))).toJSON());
  });
  r.get("/endpoints/:name/runs", auth.require("read"), async (req, res) => {
    const { limit } = parseWith(ListRunsQuerySchema, req.query, "query");
    const endpoint = await PipelineEndpoint.get(ws, param(req, "name"));
    res.json({ runs: endpoint.runs(limit ?? 50).flatMap((r) => {
      const run = ws.runs.getRun(r.runId);
      return run ? [{ ...runSummary(run), version: r.version, pipelineId: r.pipelineId }] : [];
    }) });
  });
  r.post("/endpoints/:name/runs", auth.require("runs:submit"), async (req, res) => {
    const { version } = parseWith(EndpointRunQuerySchema, req.query, "query");
    await submitFromRequest(ctx, req, res, { kind: "endpoint", name: param(req, "name"), ...(version !== undefined && { version }) });
  });
  r.put("/endpoints/:name/default", auth.require("publish"), async (req, res) => {
    const { version } = parseWith(DefaultVersionRequestSchema, req.body, "body");
    const endpoint = await PipelineEndpoint.get(ws, param(req, "name"));
    await endpoint.setDefaultVersion(version);
    res.json(endpoint.toJSON());
  });
  return r;
}
