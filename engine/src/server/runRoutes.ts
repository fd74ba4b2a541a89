import { createReadStream } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { param } from "./param.js";
import type { CancelReply, PublishReply, RunList, RunMetrics, StepOutputs, StepSnapshot } from "../contract/rest.js";
import { readStepSnapshot, snapshotFilePath } from "../artifacts/stepSnapshot.js";
import { tarArchive } from "../artifacts/tarArchive.js";
import { Router, type Request } from "express";
import { PipelineEndpoint } from "../publish/PipelineEndpoint.js";
import { PublishedPipeline } from "../publish/PublishedPipeline.js";
import { PublishError } from "../publish/PublishError.js";
import { buildRunView } from "../runner/buildRunView.js";
import { stepRunIdOf, type StepRunRow } from "../store/RunStore.js";
import { StepLogReader } from "./StepLogReader.js";
import { HttpError } from "./HttpError.js";
import { ListRunsQuerySchema, parseWith, PublishRequestSchema } from "./schemas.js";
import type { ServerContext } from "./ServerContext.js";
import { runSummary } from "./runSummary.js";

const MAX_LISTED_FILES = 1000;

/** Runs: list, view, live events (SSE), logs, metrics, outputs, cancel, publish. */
export function runRoutes(ctx: ServerContext): Router {
  const r = Router();
  const { ws, auth, queue } = ctx;

  const runOf = (req: Request): string => {
    const id = param(req, "id");
    if (!ws.runs.getRun(id)) throw new PublishError({ reason: "run-not-found", runId: id });
    return id;
  };
  const stepOf = (req: Request): StepRunRow => {
    const runId = runOf(req);
    const step = ws.runs.getStep(stepRunIdOf(runId, param(req, "step")));
    if (!step) throw new HttpError(404, `run "${runId}" has no step "${param(req, "step")}"`);
    return step;
  };

  r.get("/runs", auth.require("read"), (req, res) => {
    const q = parseWith(ListRunsQuerySchema, req.query, "query");
    const runs = ws.runs.listRuns({ limit: q.limit ?? 50, ...(q.experiment !== undefined && { experiment: q.experiment }) });
    res.json({ runs: runs.map(runSummary) } satisfies RunList);
  });

  r.get("/runs/:id", auth.require("read"), async (req, res) => {
    const view = await buildRunView(ws, runOf(req));
    if (!view) throw new PublishError({ reason: "run-not-found", runId: param(req, "id") });
    res.json(view);
  });

  // Server-sent events: one `data: <RunView>` per change, closed after the terminal view.
  r.get("/runs/:id/events", auth.require("read", { allowQueryToken: true }), (req, res) => {
    const runId = runOf(req);
    let keepAlive: NodeJS.Timeout | undefined;
    // With ?logs=1, every line of the steps' output too (event: log), from Last-Event-ID's position.
    const logs = req.query["logs"] === "1" ? new StepLogReader(ws, runId, req.get("Last-Event-ID")) : undefined;
    const unsubscribe = ctx.feeds.subscribe(
      runId,
      (view) => {
        for (const { frame, position } of logs?.read(view) ?? []) res.write(`event: log\nid: ${position}\ndata: ${JSON.stringify(frame)}\n\n`);
        res.write(`data: ${JSON.stringify(view)}\n\n`);
      },
      () => {
        clearInterval(keepAlive);
        res.end();
      },
    );
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache", Connection: "keep-alive", "X-Accel-Buffering": "no", ...(logs && { "X-Pipebook-Log-Frames": "1" }) });
    res.flushHeaders();
    keepAlive = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
    res.on("close", () => {
      clearInterval(keepAlive);
      unsubscribe();
    });
  });

  r.get("/runs/:id/steps/:step/logs", auth.require("read"), (req, res) => {
    const step = stepOf(req);
    const logDir = step.reusedFrom ? (ws.runs.getStep(step.reusedFrom)?.logDir ?? step.logDir) : step.logDir;
    res.type("text/plain; charset=utf-8");
    const stream = createReadStream(join(logDir, "output.log"));
    stream.on("error", () => res.end());
    stream.pipe(res);
  });

  r.get("/runs/:id/metrics", auth.require("read"), async (req, res) => {
    const view = await buildRunView(ws, runOf(req));
    res.json({ runId: view!.runId, steps: view!.steps.map((s) => ({ name: s.name, metrics: s.metrics })) } satisfies RunMetrics);
  });

  r.get("/runs/:id/steps/:step/outputs", auth.require("read"), async (req, res) => {
    const step = stepOf(req);
    const outputs = await Promise.all(
      ws.runs.getOutputs(step.id).map(async (o) => {
        const root = await servedRoot(ws.dir, o.path);
        return { name: o.name, ...(o.digest && { hash: o.digest }), files: root ? await listFiles(root) : [] };
      }),
    );
    res.json(outputs satisfies StepOutputs);
  });

  // Download one file of an output: `?path=` names it inside the output folder.
  r.get("/runs/:id/steps/:step/outputs/:name", auth.require("read"), async (req, res) => {
    const step = stepOf(req);
    const output = ws.runs.getOutputs(step.id).find((o) => o.name === param(req, "name"));
    if (!output) throw new HttpError(404, `step "${step.name}" has no output "${param(req, "name")}"`);
    const rel = typeof req.query["path"] === "string" ? req.query["path"] : "";
    const root = await servedRoot(ws.dir, output.path);
    const file = root && (await insideOf(root, rel));
    if (!file) throw new HttpError(404, `output "${output.name}" has no file "${rel}"`);
    res.attachment(file.split(sep).pop() ?? output.name);
    createReadStream(file).on("error", () => res.end()).pipe(res);
  });

  r.get("/runs/:id/steps/:step/snapshot", auth.require("read"), async (req, res) => {
    const step = stepOf(req);
    const snapshot = await readStepSnapshot(ws.runs, ws.blobs.root, step.runId, step.name);
    res.json({ runId: snapshot.runId, step: snapshot.step, ...(snapshot.module && { module: snapshot.module }), files: [...snapshot.files] } satisfies StepSnapshot);
  });

  // Download one file of a step's snapshot: `?path=` names it; only the snapshot's own files are served.
  r.get("/runs/:id/steps/:step/snapshot/file", auth.require("read"), async (req, res) => {
    const step = stepOf(req);
    const rel = typeof req.query["path"] === "string" ? req.query["path"] : "";
    const snapshot = await readStepSnapshot(ws.runs, ws.blobs.root, step.runId, step.name);
    const file = snapshotFilePath(ws.blobs.root, snapshot, rel);
    res.attachment(rel.split("/").pop() ?? "file");
    createReadStream(file).on("error", () => res.end()).pipe(res);
  });

  // The whole snapshot as one tar archive (files dated by the run's creation, so the same run gives the same bytes).
  r.get("/runs/:id/steps/:step/snapshot/archive", auth.require("read"), async (req, res) => {
    const step = stepOf(req);
    const snapshot = await readStepSnapshot(ws.runs, ws.blobs.root, step.runId, step.name);
    const entries = snapshot.files.map((f) => ({ path: f.path, size: f.size, source: snapshotFilePath(ws.blobs.root, snapshot, f.path) }));
    const archive = tarArchive(entries, new Date(ws.runs.getRun(step.runId)!.createdAt));
    res.type("application/x-tar");
    res.attachment(`${step.runId}-${step.name}-snapshot.tar`);
    archive.on("error", () => res.destroy()).pipe(res);
  });

  r.post("/runs/:id/cancel", auth.require("runs:submit"), (req, res) => {
    const runId = runOf(req);
    if (!queue.cancel(runId)) throw new HttpError(409, `run "${runId}" is not queued or running in this server (finished, or started by another process)`);
    res.status(202).json({ runId, status: "canceling" } satisfies CancelReply);
  });

  // The workbench's "Publish pipeline as endpoint".
  r.post("/runs/:id/publish", auth.require("publish"), async (req, res) => {
    const runId = runOf(req);
    const body = parseWith(PublishRequestSchema, req.body, "body");
    const published = await PublishedPipeline.fromRun(ws, runId, {
      name: body.name,
      ...(body.version !== undefined && { version: body.version }),
      ...(body.description !== undefined && { description: body.description }),
    });
    let endpointVersion: string | undefined;
    if (body.endpoint !== undefined) {
      const endpoint = await PipelineEndpoint.publish(ws, { name: body.endpoint, pipeline: published, ...(body.description !== undefined && { description: body.description }) });
      endpointVersion = endpoint.defaultVersion;
    }
    res.status(201).json({
      pipelineId: published.id,
      pipelineVersion: published.version,
      pipelineUrl: published.endpoint,
      ...(body.endpoint !== undefined && { endpoint: body.endpoint, endpointVersion, endpointUrl: `/endpoints/${encodeURIComponent(body.endpoint)}/runs` }),
      version: endpointVersion ?? published.version,
    } satisfies PublishReply);
  });

  return r;
}

async function listFiles(root: string): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (out.length >= MAX_LISTED_FILES) return;
      const abs = join(dir, e.name);
      if (e.isDirectory()) await walk(abs);
      else if (e.isFile()) out.push({ path: relative(root, abs).split(sep).join("/"), size: (await stat(abs)).size });
    }
  };
  const st = await stat(root).catch(() => undefined);
  if (st?.isFile()) return [{ path: "", size: st.size }];
  if (st?.isDirectory()) await walk(root);
  return out;
}

/**
 * The real path of an output folder if it is inside the workspace. A step that replaced its
 * output folder with a link to somewhere else gets nothing served from there.
 */
async function servedRoot(workspaceDir: string, outputPath: string): Promise<string | undefined> {
  const [realWorkspace, real] = await Promise.all([realpath(workspaceDir), realpath(outputPath).catch(() => undefined)]);
  return real !== undefined && real.startsWith(realWorkspace + sep) ? real : undefined;
}

/** The real path of `rel` inside `root` if it is a file there; symlinks and `..` cannot leave root. */
async function insideOf(root: string, rel: string): Promise<string | undefined> {
  const realRoot = await realpath(root).catch(() => undefined);
  if (!realRoot) return undefined;
  const target = await realpath(join(realRoot, rel)).catch(() => undefined);
  if (!target || (target !== realRoot && !target.startsWith(realRoot + sep))) return undefined;
  const st = await stat(target).catch(() => undefined);
  return st?.isFile() ? target : undefined;
}
