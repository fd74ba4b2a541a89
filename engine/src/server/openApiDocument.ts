import { z } from "zod";
import { REPLY_SCHEMAS, SpecRunRequestSchema, type ReplySchemaName } from "../contract/rest.js";
import { SCOPES } from "../auth/ApiTokens.js";
import { BlobMissingRequestSchema } from "./blobRoutes.js";
import { DefaultVersionRequestSchema, PublishRequestSchema, RunRequestSchema, ScheduleRequestSchema } from "./schemas.js";

function schemaOf(s: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s) as Record<string, unknown>;
  return rest;
}

/** `reply`: the success response's JSON schema (pipebook/contract/rest); error responses are ErrorReply. */
type Op = { summary: string; scope?: (typeof SCOPES)[number]; body?: string; params?: string[]; query?: Record<string, string>; reply?: ReplySchemaName; responses: Record<string, string> };

/** Every route the server has, with its scope; the request bodies come from the zod schemas that validate them. */
const ROUTES: Record<string, Record<string, Op>> = {
  "/health": { get: { summary: "liveness, the run queue and the scheduler's state (no token)", reply: "Health", responses: { "200": "{status: \"ok\", workspace, queue, liveStreams, scheduler}" } } },
  "/openapi.json": { get: { summary: "this document (no token)", responses: { "200": "OpenAPI 3.1 document" } } },
  "/runs": {
    get: { summary: "recent runs, newest first", scope: "read", reply: "RunList", query: { limit: "1–500, default 50", experiment: "only this experiment" }, responses: { "200": "{runs: [{runId, experiment, status, source, createdAt, endedAt?, parameters}]}" } },
    post: { summary: "run a pipeline that was never published: its spec, with each step's snapshot (manifest and files) uploaded first as blobs (a remote workspace's submit; docs/remote.md)", scope: "runs:submit", reply: "RunSubmitted", body: "SpecRunRequest", responses: { "201": "{Id, Status, ExperimentName, ParameterAssignments, RunUrl}", "400": "invalid spec or parameters", "409": "a blob of the code is not on the server", "429": "run queue full (Retry-After)" } },
  },
  "/runs/{id}/steps/{step}/why": { get: { summary: "why the step ran or was reused (pipebook why)", scope: "read", reply: "StepWhy", params: ["id", "step"], responses: { "200": "{runId, step, status, lines, key?}", "404": "no such run or step" } } },
  "/runs/{id}": { get: { summary: "a run as a RunView (steps, status, reuse, metrics, outputs, log tails)", scope: "read", reply: "RunView", params: ["id"], responses: { "200": "RunView", "404": "no such run" } } },
  "/runs/{id}/events": { get: { summary: "server-sent events: one `data: <RunView>` per change, closed after the terminal view (token also as ?access_token=); with ?logs=1 also `event: log` frames (LogFrame: every line of the steps' output, `id:` the position a reconnect sends back as Last-Event-ID)", scope: "read", params: ["id"], responses: { "200": "text/event-stream" } } },
  "/runs/{id}/live": { get: { summary: "WebSocket: messages {type: \"view\", view: RunView} until the run ends (token as Authorization header or ?access_token=)", scope: "read", reply: "LiveFrame", params: ["id"], responses: { "101": "switching protocols" } } },
  "/runs/{id}/metrics": { get: { summary: "metrics per step", scope: "read", reply: "RunMetrics", params: ["id"], responses: { "200": "{runId, steps: [{name, metrics}]}" } } },
  "/runs/{id}/steps/{step}/logs": { get: { summary: "a step's full stdout+stderr", scope: "read", params: ["id", "step"], responses: { "200": "text/plain" } } },
  "/runs/{id}/steps/{step}/outputs": { get: { summary: "a step's outputs and their files", scope: "read", reply: "StepOutputs", params: ["id", "step"], responses: { "200": "[{name, hash, files: [{path, size}]}]" } } },
  "/runs/{id}/steps/{step}/outputs/{name}": { get: { summary: "download a file of an output", scope: "read", params: ["id", "step", "name"], query: { path: "file inside the output folder" }, responses: { "200": "the file", "404": "no such file" } } },
  "/runs/{id}/steps/{step}/outputs/{name}/files": { get: { summary: "every file of an output with its SHA-256, each kept in the blob store so GET /blobs/{digest} downloads it (pipebook download; docs/remote.md)", scope: "read", reply: "OutputFiles", params: ["id", "step", "name"], responses: { "200": "{runId, step, output, hash?, files: [{path, size, digest}]}", "404": "no such run, step or output" } } },
  "/runs/{id}/steps/{step}/snapshot": { get: { summary: "the code a step ran: its snapshot's files (a ModuleStep's: the module version's)", scope: "read", reply: "StepSnapshot", params: ["id", "step"], responses: { "200": "{runId, step, module?, files: [{path, size, digest}]}", "404": "no such run or step" } } },
  "/runs/{id}/steps/{step}/snapshot/archive": { get: { summary: "the whole snapshot of a step as a tar archive", scope: "read", params: ["id", "step"], responses: { "200": "application/x-tar", "404": "no such run or step" } } },
  "/runs/{id}/steps/{step}/snapshot/file": { get: { summary: "download one file of a step's snapshot", scope: "read", params: ["id", "step"], query: { path: "the file's path in the snapshot" }, responses: { "200": "the file", "404": "no such file" } } },
  "/runs/{id}/cancel": { post: { summary: "cancel a run waiting in or run by this server's queue", scope: "runs:submit", reply: "CancelReply", params: ["id"], responses: { "202": "canceling", "409": "not running here" } } },
  "/runs/{id}/publish": { post: { summary: "publish the run's pipeline, optionally behind an endpoint", scope: "publish", reply: "PublishReply", params: ["id"], body: "PublishRequest", responses: { "201": "{pipelineId, pipelineVersion, endpoint?, endpointVersion?, version}" } } },
  "/datasets/{name}/versions/{version}": { get: { summary: "a registered dataset version: size, what registered it, and a tabular one's profile (a data node of the run graph links here)", scope: "read", reply: "DatasetVersion", params: ["name", "version"], responses: { "200": "DatasetVersion", "404": "no such dataset or version" } } },
  "/modules": { get: { summary: "modules with their versions, states and default version", scope: "read", reply: "ModuleList", responses: { "200": "[Module]" } } },
  "/modules/{name}": { get: { summary: "a module and its versions", scope: "read", reply: "Module", params: ["name"], responses: { "200": "Module", "404": "no such module" } } },
  "/pipelines": { get: { summary: "enabled published pipelines (?includeDisabled=true for all)", scope: "read", reply: "PublishedPipelineList", responses: { "200": "[PublishedPipeline]" } } },
  "/pipelines/{id}": { get: { summary: "a published pipeline", scope: "read", reply: "PublishedPipeline", params: ["id"], responses: { "200": "PublishedPipeline", "404": "no such pipeline" } } },
  "/pipelines/{id}/runs": {
    get: { summary: "runs of this published pipeline (any endpoint, SDK, CLI, REST, schedule), newest first", scope: "read", reply: "RunList", params: ["id"], query: { limit: "1–500, default 50" }, responses: { "200": "{runs: [...]}" } },
    post: { summary: "run a published pipeline (header Idempotency-Key optional)", scope: "runs:submit", reply: "RunSubmitted", params: ["id"], body: "RunRequest", responses: { "201": "{Id, Status, ExperimentName, PipelineId, ParameterAssignments, RunUrl}", "400": "invalid body or parameters", "409": "pipeline disabled", "422": "Idempotency-Key reused for another request", "429": "run queue full (Retry-After)" } } },
  "/pipelines/{id}/disable": { post: { summary: "hide from lists and refuse runs", scope: "publish", reply: "PublishedPipeline", params: ["id"], responses: { "200": "PublishedPipeline" } } },
  "/pipelines/{id}/enable": { post: { summary: "enable again", scope: "publish", reply: "PublishedPipeline", params: ["id"], responses: { "200": "PublishedPipeline" } } },
  "/endpoints": { get: { summary: "pipeline endpoints with versions and default", scope: "read", reply: "PipelineEndpointList", responses: { "200": "[PipelineEndpoint]" } } },
  "/endpoints/{name}": { get: { summary: "a pipeline endpoint", scope: "read", reply: "PipelineEndpoint", params: ["name"], responses: { "200": "PipelineEndpoint", "404": "no such endpoint" } } },
  "/endpoints/{name}/runs": {
    get: { summary: "runs made through this endpoint, with the version each used", scope: "read", reply: "EndpointRunList", params: ["name"], query: { limit: "1–500, default 50" }, responses: { "200": "{runs: [{..., version, pipelineId}]}" } },
    post: { summary: "run the endpoint's default version, or ?version=", scope: "runs:submit", reply: "RunSubmitted", params: ["name"], query: { version: "a version such as 0" }, body: "RunRequest", responses: { "201": "{Id, ...}", "404": "no such endpoint or version" } } },
  "/endpoints/{name}/default": { put: { summary: "change the default version", scope: "publish", reply: "PipelineEndpoint", params: ["name"], body: "DefaultVersionRequest", responses: { "200": "PipelineEndpoint" } } },
  "/schedules": {
    get: { summary: "schedules and triggers", scope: "read", reply: "ScheduleList", responses: { "200": "[Schedule]" } },
    post: { summary: "create a schedule: a cron expression or a watched datastore path (fired while a server runs)", scope: "publish", reply: "Schedule", body: "ScheduleRequest", responses: { "201": "Schedule", "400": "invalid body, cron, parameters", "404": "no such pipeline or endpoint" } },
  },
  "/schedules/{id}/events": { get: { summary: "fired, missed and failed ticks", scope: "read", reply: "ScheduleEventList", params: ["id"], responses: { "200": "[ScheduleEvent]" } } },
  "/schedules/{id}/disable": { post: { summary: "stop firing", scope: "publish", reply: "Schedule", params: ["id"], responses: { "200": "Schedule" } } },
  "/schedules/{id}/enable": { post: { summary: "fire again (ticks while disabled are not missed)", scope: "publish", reply: "Schedule", params: ["id"], responses: { "200": "Schedule" } } },
  "/agents": { get: { summary: "agents connected to this server (pipebook agent), each GPU a slot with the step holding it, and each remote pool's queue", scope: "read", reply: "AgentList", responses: { "200": "{agents: [...], pools: [...]}" } } },
  "/agents/connect": { get: { summary: "WebSocket an agent dials (token with the agent scope): hello, heartbeats, jobs and their reports as JSON frames", scope: "agent", responses: { "101": "switching protocols", "401": "no valid token", "403": "not an agent token", "426": "a plain request, not an upgrade" } } },
  "/blobs/missing": { post: { summary: "which of these sha256 digests the server's blob store lacks (at most 2000 per request)", scope: "runs:submit", reply: "BlobMissing", body: "BlobMissingRequest", responses: { "200": "{missing: [digest]}", "400": "not a digest" } } },
  "/blobs/{digest}": {
    head: { summary: "200 with Content-Length when the blob is stored; 404 with Upload-Offset (bytes of a kept partial upload) when not (scope read or runs:submit)", scope: "read", params: ["digest"], responses: { "200": "stored", "404": "not stored" } },
    get: { summary: "a blob's bytes; Range: bytes=N- resumes", scope: "read", params: ["digest"], responses: { "200": "application/octet-stream", "206": "the range asked for", "400": "not a digest", "404": "no such blob" } },
    put: { summary: "upload a blob: the whole body, or its rest with Content-Range: bytes N-M/TOTAL from the Upload-Offset that HEAD reports; stored only when its size and sha256 match", scope: "runs:submit", reply: "BlobStored", params: ["digest"], responses: { "200": "already stored", "201": "stored", "400": "not a digest, or a Content-Range that does not fit", "409": "wrong offset (Upload-Offset) or an upload in progress", "411": "no length", "413": "over the size bound", "422": "the bytes are not the digest's" } },
  },
};

/** The OpenAPI document served at `/openapi.json`. */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, ops] of Object.entries(ROUTES)) {
    paths[path] = Object.fromEntries(
      Object.entries(ops).map(([method, op]) => [
        method,
        {
          summary: op.summary,
          ...(op.scope && { security: [{ bearer: [op.scope] }], description: `Requires a token with the "${op.scope}" scope (or "admin").` }),
          parameters: [
            ...(op.params ?? []).map((name) => ({ name, in: "path", required: true, schema: { type: "string" } })),
            ...Object.entries(op.query ?? {}).map(([name, description]) => ({ name, in: "query", required: false, description, schema: { type: "string" } })),
          ],
          ...(op.body && { requestBody: { required: true, content: { "application/json": { schema: { $ref: `#/components/schemas/${op.body}` } } } } }),
          responses: Object.fromEntries(Object.entries(op.responses).map(([code, description]) => {
            const schema = code.startsWith("2") ? op.reply : code.startsWith("4") || code.startsWith("5") ? "ErrorReply" : undefined;
            return [code, { description, ...(schema && { content: { "application/json": { schema: { $ref: `#/components/schemas/${schema}` } } } }) }];
          })),
        },
      ]),
    );
  }
  return {
    openapi: "3.1.0",
    info: { title: "pipebook serve", version, description: "Published pipelines, versioned endpoints, runs and schedules of a pipebook workspace. Errors are {\"error\": \"sentence\"}." },
    paths,
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: `Workspace tokens (pipebook token create); scopes: ${SCOPES.join(", ")}` } },
      schemas: {
        RunRequest: schemaOf(RunRequestSchema),
        PublishRequest: schemaOf(PublishRequestSchema),
        DefaultVersionRequest: schemaOf(DefaultVersionRequestSchema),
        ScheduleRequest: schemaOf(ScheduleRequestSchema),
        BlobMissingRequest: schemaOf(BlobMissingRequestSchema),
        SpecRunRequest: schemaOf(SpecRunRequestSchema),
        ...Object.fromEntries(Object.entries(REPLY_SCHEMAS).map(([name, schema]) => [name, schemaOf(schema)])),
      },
    },
  };
}

/** The reply schema of each documented success response, for the test that checks replies against them. */
export const DOCUMENTED_REPLIES: Readonly<Record<string, ReplySchemaName>> = Object.fromEntries(
  Object.entries(ROUTES).flatMap(([path, ops]) => Object.entries(ops).flatMap(([m, op]) => (op.reply ? [[`${m.toUpperCase()} ${path}`, op.reply]] : []))),
);

/** Paths of the document, for the test that checks every route is documented. */
export const DOCUMENTED_ROUTES: readonly string[] = Object.entries(ROUTES).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
