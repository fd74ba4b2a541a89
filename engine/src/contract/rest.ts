import { z } from "zod";
import { FAILURE_CODES } from "./expectedFailure.js";
import { EXPERIMENT_PATTERN } from "./names.js";
import type { RunStatus, RunView } from "./runView.js";

/**
 * The REST server's replies and stream frames, as schemas: the server's routes are typed by
 * them, the OpenAPI document (`/openapi.json`) is generated from them, a test checks every
 * documented reply against its schema, and the workbench and the page read the inferred types
 * instead of guessing field spellings. Request bodies stay with the server (engine/src/server/
 * schemas.ts); what callers send is documented from those.
 *
 * A separate entry (`pipebook/contract/rest`) so that what only needs run views and the status
 * table does not load zod.
 */

const RUN_STATUSES = ["queued", "running", "completed", "failed", "canceled"] as const satisfies readonly RunStatus[];
const ParameterValueSchema = z.union([z.string(), z.number(), z.boolean()]);
const ParametersSchema = z.record(z.string(), ParameterValueSchema);

/**
 * Every 4xx/5xx reply. An expected failure of the engine (a bad parameter, a missing pipeline,
 * a full queue) also carries its `code` and `reason`: switch on those, not on the sentence.
 */
export const ErrorReplySchema = z.object({
  error: z.string().describe("one sentence naming what is wrong (with a list of problems under it, one per line, where there are several)"),
  code: z.enum(FAILURE_CODES).optional().describe("an expected failure's stable code; the status follows it"),
  reason: z.string().optional().describe("an expected failure's reason within its subsystem (e.g. pipeline-not-found, parameters-invalid, full)"),
  fields: z.array(z.string()).optional().describe("for invalid bodies: one line per field"),
});

/** `GET /health` (no token): the page shows the workspace and the scheduler's state from it. */
export const HealthSchema = z.object({
  status: z.literal("ok"),
  workspace: z.string(),
  queue: z.object({ waiting: z.number(), running: z.number(), maxQueued: z.number(), maxRunning: z.number(), accepted: z.number(), refused: z.number() }),
  liveStreams: z.number().describe("live run views streamed now"),
  scheduler: z.enum(["active", "standby", "stopped", "off"]).describe("active: this server fires the workspace's schedules; standby: another does; off: started without schedules"),
});

/** One run in a list: `GET /runs`, a pipeline's or an endpoint's runs. */
export const RunSummarySchema = z.object({
  runId: z.string(),
  experiment: z.string(),
  status: z.enum(RUN_STATUSES),
  source: z.string().describe("who started it: cli, kernel, sdk, api, schedule"),
  createdAt: z.string(),
  endedAt: z.string().optional(),
  error: z.string().optional(),
  parameters: ParametersSchema,
});

export const RunListSchema = z.object({ runs: z.array(RunSummarySchema) });

export const EndpointRunListSchema = z.object({
  runs: z.array(RunSummarySchema.extend({ version: z.string(), pipelineId: z.string() })),
});

export const PublishedPipelineSchema = z.object({
  id: z.string(),
  name: z.string(),
  version: z.string(),
  description: z.string(),
  enabled: z.boolean(),
  createdAt: z.string(),
  sourceRunId: z.string().nullable(),
  endpoint: z.string().describe("where to POST runs of it"),
  parameters: z.array(z.object({ name: z.string(), defaultValue: ParameterValueSchema })),
  steps: z.array(z.string()),
});

export const PipelineEndpointSchema = z.object({
  name: z.string(),
  description: z.string(),
  defaultVersion: z.string(),
  endpoint: z.string(),
  versions: z.array(z.object({ version: z.string(), pipelineId: z.string(), addedAt: z.string() })),
});

export const ScheduleSchema = z.object({
  id: z.string(),
  name: z.string(),
  target: z.union([
    z.object({ kind: z.literal("pipeline"), id: z.string() }),
    z.object({ kind: z.literal("endpoint"), name: z.string(), version: z.string().optional() }),
  ]),
  experiment: z.string(),
  parameters: ParametersSchema,
  trigger: z.union([
    z.object({ kind: z.literal("cron"), cron: z.string(), timezone: z.string().optional() }),
    z.object({ kind: z.literal("datastore"), datastore: z.string(), path: z.string(), pollSeconds: z.number() }),
  ]),
  enabled: z.boolean(),
  createdAt: z.string(),
  lastTickAt: z.string().nullable(),
  watchDigest: z.string().nullable(),
});

export const ScheduleEventSchema = z.object({
  id: z.number(),
  scheduleId: z.string(),
  at: z.string(),
  kind: z.enum(["fired", "missed", "failed", "baseline"]),
  runId: z.string().nullable(),
  detail: z.string(),
});

const DigestSchema = z.string().regex(/^[0-9a-f]{64}$/, "must be a sha256 digest (64 lowercase hex characters)");

/**
 * `POST /runs`: a pipeline that was never published, as its portable spec (what every run
 * records, PipelineSpec) whose step code is named by content: each step's snapshot manifest and
 * files are blobs the caller uploaded first (`/blobs`). Checked here as far as the server relies
 * on it; the steps themselves are checked again as any spec is when it runs.
 */
export const SpecRunRequestSchema = z
  .object({
    experiment: z.string().regex(EXPERIMENT_PATTERN, "must start with a letter or digit and hold only letters, digits, _ . - (at most 255)"),
    spec: z.looseObject({
      version: z.literal(1),
      description: z.string(),
      parameters: z.array(z.object({ name: z.string(), defaultValue: ParameterValueSchema })),
      steps: z
        .array(
          z.looseObject({
            name: z.string(),
            manifest: DigestSchema.optional(),
            source: z.record(z.string(), DigestSchema),
            // Every kind carries its variables; a forged kind would otherwise fail deep in the engine.
            environment: z.looseObject({ kind: z.enum(["system", "python", "node", "docker"]), envVars: z.record(z.string(), z.string()) }),
          }),
        )
        .min(1),
    }),
    parameterAssignments: z.record(z.string(), ParameterValueSchema).optional(),
    regenerateOutputs: z.boolean().optional(),
    source: z.enum(["sdk", "cli", "kernel"]).optional(),
    git: z.object({ repo: z.string(), branch: z.string(), commit: z.string(), dirty: z.boolean() }).nullable().optional(),
  })
  .strict();

/**
 * The body a remote workspace sends to `POST /runs`. The server checks the part of the spec it
 * relies on (above); a sender states the whole spec as its own type (the engine's PipelineSpec).
 */
export type SpecRunRequest<Spec = Frozen<z.input<typeof SpecRunRequestSchema>>["spec"]> = Omit<Frozen<z.input<typeof SpecRunRequestSchema>>, "spec"> & { readonly spec: Spec };

/** `POST /pipelines/{id}/runs` and `POST /endpoints/{name}/runs`, in the seeds' spelling. */
export const RunSubmittedSchema = z.object({
  Id: z.string(),
  Status: z.enum(RUN_STATUSES),
  ExperimentName: z.string(),
  PipelineId: z.string().optional(),
  ParameterAssignments: ParametersSchema,
  RunUrl: z.string(),
});

export const PublishReplySchema = z.object({
  pipelineId: z.string(),
  pipelineVersion: z.string(),
  pipelineUrl: z.string(),
  endpoint: z.string().optional(),
  endpointVersion: z.string().optional(),
  endpointUrl: z.string().optional(),
  version: z.string().describe("the endpoint's new version, else the pipeline's"),
});

export const CancelReplySchema = z.object({ runId: z.string(), status: z.literal("canceling") });

const MetricViewSchema = z.object({
  name: z.string(),
  points: z.array(z.object({ index: z.number(), value: z.union([z.number(), z.string()]) })),
});

export const RunMetricsSchema = z.object({
  runId: z.string(),
  steps: z.array(z.object({ name: z.string(), metrics: z.array(MetricViewSchema) })),
});

export const StepOutputsSchema = z.array(z.object({
  name: z.string(),
  hash: z.string().optional(),
  files: z.array(z.object({ path: z.string(), size: z.number() })),
}));

/**
 * `GET /runs/{id}/steps/{step}/outputs/{name}/files`: every file of an output with its SHA-256; the
 * server keeps each in its blob store, so `GET /blobs/{digest}` downloads it (resumable, by content).
 */
export const OutputFilesSchema = z.object({
  runId: z.string(),
  step: z.string(),
  output: z.string(),
  hash: z.string().optional(),
  files: z.array(z.object({ path: z.string(), size: z.number(), digest: z.string() })),
});

/** `GET /runs/{id}/steps/{step}/snapshot`: the code a step ran, file by file (`.../snapshot/file?path=` downloads one). */
export const StepSnapshotSchema = z.object({
  runId: z.string(),
  step: z.string(),
  module: z.object({ name: z.string(), version: z.string() }).optional().describe("for a ModuleStep: the module version whose code this is"),
  files: z.array(z.object({ path: z.string(), size: z.number(), digest: z.string() })),
});

/** `GET /modules/{name}`: a module and its versions in publishing order; `GET /modules` lists them all. */
export const ModuleSchema = z.object({
  name: z.string(),
  description: z.string(),
  defaultVersion: z.string().nullable(),
  state: z.enum(["active", "deprecated", "disabled"]).describe("the whole module's; each version has its own"),
  versions: z.array(z.object({
    version: z.string(),
    state: z.enum(["active", "deprecated", "disabled"]),
    kind: z.enum(["python", "node", "command"]),
    program: z.string().describe("the script, or the command line"),
    inputs: z.array(z.string()),
    outputs: z.array(z.string()),
    digest: z.string(),
    description: z.string(),
    createdAt: z.string(),
  })),
});

/** `GET /datasets/{name}/versions/{version}`: a registered version, what made it, and a tabular one's profile. */
export const DatasetVersionSchema = z.object({
  name: z.string(),
  version: z.number(),
  description: z.string(),
  kind: z.enum(["file", "tabular"]),
  fileCount: z.number(),
  bytes: z.number(),
  createdAt: z.string(),
  registeredBy: z.object({ runId: z.string(), step: z.string(), output: z.string() }).optional().describe("the run and step whose output this version is"),
  profile: z.object({
    rowCount: z.number(),
    header: z.array(z.string()),
    rows: z.array(z.array(z.string())).describe("one row per column: its type, counts, range or most common value"),
  }).optional().describe("tabular versions only"),
});

/**
 * A run view as JSON (`GET /runs/{id}`, SSE `data:` lines, WebSocket frames). Its fields are
 * the TypeScript `RunView` (runView.ts); the schema checks the frame and what the document shows.
 */
export const RunViewSchema = z.looseObject({
  version: z.number(),
  runId: z.string(),
  experiment: z.string(),
  status: z.enum(RUN_STATUSES),
  createdAt: z.string(),
  parameters: ParametersSchema,
  steps: z.array(z.looseObject({ name: z.string(), stepRunId: z.string(), status: z.string() })),
  edges: z.array(z.object({ from: z.string(), to: z.string(), data: z.string() })),
});

/** `GET /runs/{id}/live` (WebSocket): one frame per change, the last one terminal. */
export const LiveFrameSchema = z.object({ type: z.literal("view"), view: RunViewSchema });

/**
 * `GET /runs/{id}/events?logs=1`: besides each view, an SSE `event: log` frame per piece of a
 * step's output (whole lines while it runs), its `id:` the position to resume from (Last-Event-ID).
 */
export const LogFrameSchema = z.object({ step: z.string(), text: z.string() });

/** `POST /blobs/missing`: which of the asked digests this server's store lacks. */
export const BlobMissingSchema = z.object({ missing: z.array(z.string()) });

/** `PUT /blobs/{digest}`: the blob is stored (201) or already was (200, `received` 0). */
export const BlobStoredSchema = z.object({
  digest: z.string(),
  size: z.number(),
  received: z.number().describe("bytes this request carried into the store (0 when it was present)"),
});

/** `GET /agents`: the agents of this server, their slots (a GPU each) and what runs on them, and each pool's queue. */
export const AgentListSchema = z.object({
  agents: z.array(z.object({
    name: z.string(),
    labels: z.record(z.string(), z.string()),
    status: z.enum(["online", "away", "offline"]).describe("away: connection lost, its steps kept until the grace ends"),
    inventory: z.object({
      gpus: z.array(z.object({ index: z.number(), name: z.string(), memoryMb: z.number() })),
      cpus: z.number(), memoryMb: z.number(), diskFreeMb: z.number(), host: z.string(), version: z.string(),
    }),
    connectedAt: z.string(),
    lastSeenAt: z.string(),
    slots: z.array(z.object({ gpu: z.number(), step: z.string().nullable().describe("runId.step holding the GPU, null when free") })),
    jobs: z.array(z.object({ stepRunId: z.string(), gpus: z.array(z.number()) })),
  })),
  pools: z.array(z.object({ name: z.string(), labels: z.record(z.string(), z.string()), waiting: z.array(z.string()).describe("step runs waiting for slots, first first") })),
});

/** `GET /runs/{id}/steps/{step}/why`: why a step ran or was reused, as `pipebook why` prints it. */
export const StepWhySchema = z.object({
  runId: z.string(),
  step: z.string(),
  status: z.string(),
  lines: z.array(z.string()).describe("the explanation, one line each"),
  key: z.string().optional().describe("the step's reuse key"),
});

/** Replies are read, never changed: the types say so, and accept the engine's readonly values. */
type Frozen<T> = T extends readonly (infer U)[] ? readonly Frozen<U>[] : T extends object ? { readonly [K in keyof T]: Frozen<T[K]> } : T;

export type ErrorReply = Frozen<z.infer<typeof ErrorReplySchema>>;
export type Health = Frozen<z.infer<typeof HealthSchema>>;
export type RunSummary = Frozen<z.infer<typeof RunSummarySchema>>;
export type RunList = Frozen<z.infer<typeof RunListSchema>>;
export type EndpointRunList = Frozen<z.infer<typeof EndpointRunListSchema>>;
export type PublishedPipelineReply = Frozen<z.infer<typeof PublishedPipelineSchema>>;
export type PipelineEndpointReply = Frozen<z.infer<typeof PipelineEndpointSchema>>;
export type ScheduleReply = Frozen<z.infer<typeof ScheduleSchema>>;
export type ScheduleEventReply = Frozen<z.infer<typeof ScheduleEventSchema>>;
export type RunSubmitted = Frozen<z.infer<typeof RunSubmittedSchema>>;
export type PublishReply = Frozen<z.infer<typeof PublishReplySchema>>;
export type CancelReply = Frozen<z.infer<typeof CancelReplySchema>>;
export type RunMetrics = Frozen<z.infer<typeof RunMetricsSchema>>;
export type StepOutputs = Frozen<z.infer<typeof StepOutputsSchema>>;
export type StepSnapshot = Frozen<z.infer<typeof StepSnapshotSchema>>;
export type OutputFiles = Frozen<z.infer<typeof OutputFilesSchema>>;
export type LogFrame = Frozen<z.infer<typeof LogFrameSchema>>;
export type ModuleReply = Frozen<z.infer<typeof ModuleSchema>>;
export type DatasetVersionReply = Frozen<z.infer<typeof DatasetVersionSchema>>;
export type BlobMissing = Frozen<z.infer<typeof BlobMissingSchema>>;
export type BlobStored = Frozen<z.infer<typeof BlobStoredSchema>>;
export type StepWhy = Frozen<z.infer<typeof StepWhySchema>>;
export type AgentList = Frozen<z.infer<typeof AgentListSchema>>;
/** The frame as the server sends it: the view is the full `RunView`. */
export interface LiveFrame { readonly type: "view"; readonly view: RunView }

/** Every reply schema by its name in the OpenAPI document. */
export const REPLY_SCHEMAS = {
  ErrorReply: ErrorReplySchema, Health: HealthSchema, RunSummary: RunSummarySchema, RunList: RunListSchema, EndpointRunList: EndpointRunListSchema,
  PublishedPipeline: PublishedPipelineSchema, PublishedPipelineList: z.array(PublishedPipelineSchema),
  PipelineEndpoint: PipelineEndpointSchema, PipelineEndpointList: z.array(PipelineEndpointSchema),
  Schedule: ScheduleSchema, ScheduleList: z.array(ScheduleSchema), ScheduleEventList: z.array(ScheduleEventSchema),
  RunSubmitted: RunSubmittedSchema, PublishReply: PublishReplySchema, CancelReply: CancelReplySchema,
  RunMetrics: RunMetricsSchema, StepOutputs: StepOutputsSchema, RunView: RunViewSchema, LiveFrame: LiveFrameSchema,
  StepSnapshot: StepSnapshotSchema, Module: ModuleSchema, ModuleList: z.array(ModuleSchema), DatasetVersion: DatasetVersionSchema,
  BlobMissing: BlobMissingSchema, BlobStored: BlobStoredSchema, StepWhy: StepWhySchema, AgentList: AgentListSchema,
  OutputFiles: OutputFilesSchema, LogFrame: LogFrameSchema,
} as const;
export type ReplySchemaName = keyof typeof REPLY_SCHEMAS;
/** A reply as its schema names it: `Reply<"RunList">`. */
export type Reply<N extends ReplySchemaName> = z.infer<(typeof REPLY_SCHEMAS)[N]>;

/** Where a reply first differs from its schema: the reply's name, the field's path ("" for the reply itself) and what is wrong. */
export interface ReplyMismatch {
  readonly reply: ReplySchemaName;
  readonly at: string;
  readonly issue: string;
}

/**
 * Reads a reply as its schema says, or says where it differs: a reply of another shape (a server
 * of another version, a proxy's error page) is data for the caller's own failure (the lab's
 * `PipebookRequestError`, the remote workspace's `RemoteError`, both reason `reply-invalid`).
 */
export function parseReply<N extends ReplySchemaName>(name: N, reply: unknown): { readonly ok: true; readonly value: Reply<N> } | { readonly ok: false; readonly mismatch: ReplyMismatch } {
  const parsed = REPLY_SCHEMAS[name].safeParse(reply);
  if (parsed.success) return { ok: true, value: parsed.data as Reply<N> };
  const issue = parsed.error.issues[0];
  return { ok: false, mismatch: { reply: name, at: issue?.path.map(String).join(".") ?? "", issue: issue?.message ?? "unexpected shape" } };
}

/** The sentence for a mismatch: the reply, the first field that differs, and the version question. */
export function describeReplyMismatch(m: ReplyMismatch): string {
  return `the server's reply is not a ${m.reply}${m.at === "" ? "" : ` at ${m.at}`}: ${m.issue} (is the pipebook server the same version as this client?)`;
}
