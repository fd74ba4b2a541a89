import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import express from "express";
import type { Health } from "../contract/rest.js";
import type { Workspace } from "../workspace/Workspace.js";
import { recoverOrphanedRuns } from "../runner/recoverOrphanedRuns.js";
import { Scheduler, type SchedulerOptions } from "../schedules/Scheduler.js";
import { blobRoutes } from "./blobRoutes.js";
import type { AgentPool } from "../compute/remote/AgentPool.js";
import { attachAgentHub, type AgentHubOptions } from "./agentHub.js";
import { agentRoutes } from "./agentRoutes.js";
import { Authenticator } from "./Authenticator.js";
import { cors } from "./cors.js";
import { endpointRoutes } from "./endpointRoutes.js";
import { errorMiddleware } from "./errorMiddleware.js";
import { HttpError } from "./HttpError.js";
import { attachLiveSocket } from "./liveSocket.js";
import { moduleRoutes } from "./moduleRoutes.js";
import { datasetRoutes } from "./datasetRoutes.js";
import { openApiDocument } from "./openApiDocument.js";
import { pipelineRoutes } from "./pipelineRoutes.js";
import { runRoutes } from "./runRoutes.js";
import { RunFeeds } from "./RunFeeds.js";
import { RunQueue } from "./RunQueue.js";
import { RunSubmitter } from "./RunSubmitter.js";
import { scheduleRoutes } from "./scheduleRoutes.js";
import { specRunRoutes } from "./specRunRoutes.js";
import type { ServerContext } from "./ServerContext.js";

/** The web page's files (shipped beside the compiled code's sources). */
const WEB_DIR = fileURLToPath(new URL("../../src/server/web/", import.meta.url));
const API_VERSION = "1";

export interface ServerOptions {
  readonly workspace: Workspace;
  /** Default 127.0.0.1: nothing outside this machine reaches the server unless asked. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Tokens with every scope held in memory only (`serve --token`; the workbench launcher's). */
  readonly tokens?: readonly string[];
  /** Origins allowed to call from a browser page (CORS), e.g. the Jupyter server's. */
  readonly corsOrigins?: readonly string[];
  /** Runs this server executes at once (default 4); later ones wait in its queue. */
  readonly maxRunningRuns?: number;
  /** Runs that may wait in the queue (default 256); over it, POSTs get 429 with Retry-After. */
  readonly maxQueuedRuns?: number;
  /** Open SSE/WebSocket run streams (default 500); over it, 503. */
  readonly maxLiveStreams?: number;
  /** Fire schedules and triggers (default true; run one scheduling server per workspace). */
  readonly schedules?: boolean;
  readonly scheduler?: SchedulerOptions;
  /** The largest blob `PUT /blobs/{digest}` accepts (default 64 GiB). */
  readonly maxBlobBytes?: number;
  /** Agents (`pipebook agent`): heartbeat and the grace before an agent's steps fail as lost. */
  readonly agents?: AgentHubOptions;
  readonly log?: (line: string) => void;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  readonly queue: RunQueue;
  readonly scheduler: Scheduler | undefined;
  /** The agents connected to this server and the slot queues of its remote targets. */
  readonly agents: AgentPool;
  close(): Promise<void>;
}

/** How often a server looks for runs whose engine died. */
const ORPHAN_CHECK_MS = 2000;

/** `pipebook serve`: the REST API, the live run streams, the web page and the scheduler, on one port. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const ws = options.workspace;
  // A workspace that submits to another server has no store of its own to serve.
  ws.requireLocal("pipebook serve");
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const origins = options.corsOrigins ?? [];
  const auth = new Authenticator(ws, options.tokens ?? []);
  const queue = new RunQueue(options.maxRunningRuns ?? 4, options.maxQueuedRuns ?? 256);
  const feeds = new RunFeeds(ws, options.maxLiveStreams ?? 500);
  const ctx: ServerContext = { ws, auth, queue, submitter: new RunSubmitter(ws, queue), feeds };
  let scheduler: Scheduler | undefined;

  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(cors(origins));
  // Step outputs are served as files: a browser must not guess an HTML or script type for them.
  app.use((_req, res, next) => {
    res.setHeader("X-Content-Type-Options", "nosniff");
    next();
  });
  // Before the 256 kB body limit: an unpublished run's spec lists every file of its snapshots.
  app.use(specRunRoutes(ctx));
  app.use(express.json({ limit: "256kb" }));
  app.get("/health", (_req, res) => {
    res.json({ status: "ok", workspace: ws.name, queue: queue.stats, liveStreams: feeds.streams, scheduler: scheduler?.state ?? "off" } satisfies Health);
  });
  app.get("/openapi.json", (_req, res) => {
    res.json(openApiDocument(API_VERSION));
  });
  const page = (_req: express.Request, res: express.Response): void => {
    res.set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'");
    res.sendFile(join(WEB_DIR, "index.html"));
  };
  app.use(moduleRoutes(ctx), datasetRoutes(ctx));
  app.get("/", page);
  app.use("/web", express.static(WEB_DIR, { index: false, redirect: false }));
  const agents = attachAgentHub(ws, auth, options.agents ?? {}, log);
  app.use(runRoutes(ctx), pipelineRoutes(ctx), endpointRoutes(ctx), scheduleRoutes(ctx), agentRoutes(ctx, agents));
  app.use(blobRoutes(ctx, { ...(options.maxBlobBytes !== undefined && { maxBlobBytes: options.maxBlobBytes }) }));
  app.use((req, _res, next) => next(new HttpError(404, `no route ${req.method} ${req.path}`)));
  app.use(errorMiddleware(log));

  const server: Server = createServer(app);
  const live = attachLiveSocket(ctx, auth, origins, options.maxLiveStreams ?? 500);
  // Nothing a caller sends may end the process: an upgrade that throws closes only its socket.
  server.on("upgrade", (req, socket, head) => {
    try {
      if (agents.handleUpgrade(req, socket, head)) return;
      live.handleUpgrade(req, socket, head);
    } catch (err) {
      console.error(`pipebook serve: upgrade of ${req.url ?? "?"} failed: ${err instanceof Error ? err.message : String(err)}`);
      socket.destroy();
    }
  });
  server.on("clientError", (_err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  // A run whose engine died (a killed `pipebook run` or kernel on this host) is settled within
  // seconds, so its live viewers see it end without anyone opening the workspace again.
  const orphans = setInterval(() => {
    try {
      for (const runId of recoverOrphanedRuns(ws)) log(`run ${runId}: its engine stopped while it ran; marked failed`);
    } catch (err) {
      log(`checking for runs of stopped engines failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }, ORPHAN_CHECK_MS);
  orphans.unref();

  if (options.schedules ?? true) {
    scheduler = new Scheduler(
      ws,
      async (s) => (await ctx.submitter.submit({ target: s.target, experiment: s.experiment, parameterAssignments: s.parameters, source: "schedule" })).runId,
      { log, ...options.scheduler },
    );
    scheduler.start();
  }

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    queue,
    scheduler,
    agents: agents.pool,
    async close() {
      clearInterval(orphans);
      await scheduler?.stop();
      live.close();
      agents.close();
      feeds.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await queue.drain();
    },
  };
}
