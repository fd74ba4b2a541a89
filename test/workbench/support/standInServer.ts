import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { RunView } from "pipebook/contract";
import type { PipelineEndpointReply, PublishedPipelineReply, PublishReply, RunList, RunSubmitted } from "pipebook/contract/rest";

/**
 * A stand-in for `pipebook serve` (issue 5), speaking the REST contract the panel is written
 * against (docs/engine-requests.md, "workbench"). It exists because the real server was not
 * written when these tests were; it records every request so tests can check what the
 * workbench's proxy sent (the bearer token included).
 */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
  readonly body: string;
}

export interface StandInServer {
  readonly url: string;
  readonly token: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

export interface StandInData {
  readonly runs: Record<string, RunView>;
  /** Views streamed by `GET /runs/{id}/events`, one every `eventGapMs` (or the run's own gap). */
  readonly events: Record<string, RunView[]>;
  readonly eventGaps?: Record<string, number>;
  /** A log's text, or a function giving it now (a log that grows while a step runs). */
  readonly logs: Record<string, string | (() => string)>;
  readonly eventGapMs: number;
  /** Run id answered to POST …/runs. */
  readonly submittedRunId: string;
}

function body(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let data = "";
    request.on("data", (chunk: Buffer) => (data += chunk.toString()));
    request.on("end", () => resolve(data));
  });
}

export async function startStandInServer(data: StandInData, token = "stand-in-token-123"): Promise<StandInServer> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((request, response) => {
    void (async () => {
      const text = await body(request);
      requests.push({ method: request.method ?? "", url: request.url ?? "", authorization: request.headers.authorization, body: text });
      const json = (status: number, value: unknown) => {
        response.writeHead(status, { "Content-Type": "application/json" });
        response.end(JSON.stringify(value));
      };
      if (request.headers.authorization !== `Bearer ${token}`) {
        return json(401, { error: "missing or wrong token" });
      }
      const url = new URL(request.url ?? "/", "http://stand-in");
      const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
      if (request.method === "GET" && parts.length === 1 && parts[0] === "runs") {
        return json(200, { runs: Object.values(data.runs).map((r) => ({ runId: r.runId, experiment: r.experiment, status: r.status, source: "sdk", createdAt: r.createdAt, parameters: r.parameters })) } satisfies RunList);
      }
      if (request.method === "GET" && parts[0] === "runs" && parts.length === 2) {
        const run = data.runs[parts[1]!];
        return run === undefined ? json(404, { error: "no such run" }) : json(200, run);
      }
      if (request.method === "GET" && parts[0] === "runs" && parts[2] === "events") {
        response.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
        for (const view of data.events[parts[1]!] ?? []) {
          await new Promise((r) => setTimeout(r, data.eventGaps?.[parts[1]!] ?? data.eventGapMs));
          response.write(`event: run\ndata: ${JSON.stringify(view)}\n\n`);
        }
        return response.end();
      }
      if (request.method === "GET" && parts[0] === "runs" && parts[2] === "steps" && parts[4] === "logs") {
        const log = data.logs[`${parts[1]}/${parts[3]}`];
        if (log === undefined) return json(404, { error: "no log" });
        response.writeHead(200, { "Content-Type": "text/plain" });
        return response.end(typeof log === "function" ? log() : log);
      }
      if (request.method === "GET" && parts[0] === "pipelines") {
        return json(200, [{
          id: "pl-1", name: "Iris_Pipeline", version: "1.0", description: "iris", enabled: true, createdAt: "2026-01-01T00:00:00Z",
          sourceRunId: null, endpoint: "/pipelines/pl-1/runs", parameters: [], steps: ["prep"],
        }] satisfies PublishedPipelineReply[]);
      }
      if (request.method === "GET" && parts[0] === "endpoints") {
        return json(200, [{ name: "IrisEndpoint", description: "", defaultVersion: "0", endpoint: "/endpoints/IrisEndpoint/runs", versions: [{ version: "0", pipelineId: "pl-1", addedAt: "2026-01-01T00:00:00Z" }] }] satisfies PipelineEndpointReply[]);
      }
      if (request.method === "POST" && (parts[0] === "pipelines" || parts[0] === "endpoints") && parts[2] === "runs") {
        return json(201, { Id: data.submittedRunId, Status: "queued", ExperimentName: JSON.parse(text).ExperimentName, ParameterAssignments: {}, RunUrl: `/runs/${data.submittedRunId}` } satisfies RunSubmitted);
      }
      if (request.method === "POST" && parts[0] === "runs" && parts[2] === "publish") {
        const asked = JSON.parse(text) as { endpoint: string; version: string };
        return json(201, {
          pipelineId: "pl-2", pipelineVersion: asked.version, pipelineUrl: "/pipelines/pl-2/runs",
          endpoint: asked.endpoint, endpointVersion: "1", endpointUrl: `/endpoints/${asked.endpoint}/runs`, version: "1",
        } satisfies PublishReply);
      }
      return json(404, { error: "not found" });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    token,
    requests,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
