import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import type { RunSubmitted, SpecRunRequest } from "../contract/rest.js";
import type { RunView } from "../contract/runView.js";
import type { Pipeline } from "../dsl/Pipeline.js";
import { ModuleStep } from "../dsl/ModuleStep.js";
import type { Digest } from "../fingerprint/digest.js";
import type { SubmitOptions } from "../runner/PipelineRun.js";
import { snapshotStep, submitScope } from "../runner/prepareStep.js";
import { readGitInfo } from "../runner/readGitInfo.js";
import { resolveParameters } from "../runner/resolveParameters.js";
import { toPipelineSpec } from "../spec/specCodec.js";
import type { PipelineSpec } from "../spec/PipelineSpec.js";
import { notifySubmission } from "../contract/runHandle.js";
import { MAX_DIGESTS_PER_QUERY } from "../blobs/blobProtocol.js";
import { RemoteError } from "./RemoteError.js";
import { RemoteRun } from "./RemoteRun.js";
import type { RemoteServer } from "./RemoteServer.js";

/** What a remote submit moved, for the caller that wants to say it (the CLI, tests). */
export interface UploadReport {
  /** Blobs of the run's code (manifests and files) the spec names. */
  readonly blobs: number;
  /** Of those, the ones the server lacked and got. */
  readonly uploaded: number;
  readonly bytes: number;
}

/** Uploads per run, at once: enough to fill loopback or a LAN without a thread per file. */
const PARALLEL_UPLOADS = 4;

/**
 * Submits `pipeline` to a `pipebook serve`: its steps are snapshotted here into the local
 * blob store, the blobs the server lacks are uploaded by content (only those), and the spec is
 * POSTed to `/runs`. The server records the run in its store, decides reuse against every run
 * it holds, and runs the steps on its compute; the returned RemoteRun follows its live feed.
 * The data a step reads and the compute it names are the server's, checked there.
 */
export async function submitToServer(server: RemoteServer, experiment: string, pipeline: Pipeline, options: SubmitOptions = {}): Promise<RemoteRun> {
  const refusedOption = (["concurrency", "startWhen", "runId", "git"] as const).find((k) => options[k] !== undefined);
  if (refusedOption !== undefined) throw new RemoteError({ reason: "config", detail: `submit option "${refusedOption}" is the server's to decide; a run submitted to ${server.url} cannot set it` });
  const graph = pipeline.validate();
  // Checked here first: a typo should not cost snapshots and uploads. The server gets the values
  // as checked (their declared types), for the names assigned.
  const resolved = resolveParameters(pipeline.parameters, options.parameterAssignments);
  const assigned = options.parameterAssignments && Object.fromEntries(Object.keys(options.parameterAssignments).map((name) => [name, resolved[name]!]));
  const moduleStep = graph.steps.find((s) => s instanceof ModuleStep);
  if (moduleStep instanceof ModuleStep) {
    const { name, version } = moduleStep.moduleRef;
    throw new RemoteError({
      reason: "config",
      detail: `step "${moduleStep.name}" is a ModuleStep (module "${name}" version "${version}"), which a run submitted to ${server.url} cannot use yet: modules live in the server's store, but a ModuleStep is resolved in this workspace's own and a remote workspace does not look modules up on the server; run this pipeline on the server's workspace, where the module is published`,
    });
  }
  const ws = pipeline.workspace;
  const git = readGitInfo(ws.root).catch(() => undefined);
  const scope = submitScope();
  const snapshots = await Promise.all(graph.steps.map((s) => snapshotStep(ws, s, scope)));
  const spec = toPipelineSpec(pipeline, snapshots);
  const moved = await uploadCode(server, ws.blobs.pathOf.bind(ws.blobs), spec).catch((err: unknown) => {
    throw server.transferError(err, "uploading the run's code");
  });
  const submitted = await postRun(server, {
    experiment,
    spec,
    ...(assigned !== undefined && { parameterAssignments: assigned }),
    ...(options.regenerateOutputs !== undefined && { regenerateOutputs: options.regenerateOutputs }),
    ...(options.source !== undefined && options.source !== "api" && options.source !== "schedule" && { source: options.source }),
    git: (await git) ?? null,
  });
  const initial = (await server.json("RunView", "GET", `/runs/${encodeURIComponent(submitted.Id)}`)) as unknown as RunView;
  const run = new RemoteRun(server, initial, moved);
  notifySubmission(run);
  return run;
}

/** Tries of POST /runs when its reply is lost (a dropped connection), and the first wait between them. */
const POST_TRIES = 5;
const POST_RETRY_MS = 200;

/**
 * `POST /runs` with one Idempotency-Key for this submit: a reply lost to a dropped connection (or
 * a 409 while another server process still makes the run for the key) is asked again with the
 * same key, and the server answers with the run the first request made, never a second run.
 */
async function postRun(server: RemoteServer, body: SpecRunRequest<PipelineSpec>): Promise<RunSubmitted> {
  const headers = { "Idempotency-Key": `submit-${randomUUID()}` };
  for (let attempt = 1; ; attempt++) {
    try {
      return await server.json("RunSubmitted", "POST", "/runs", body, { headers });
    } catch (err) {
      const again = err instanceof RemoteError && (err.failure.reason === "unreachable" || (err.failure.reason === "refused" && err.failure.serverReason === "idempotency-key-busy"));
      if (!again || attempt >= POST_TRIES) throw err;
      await delay(POST_RETRY_MS * 2 ** (attempt - 1));
    }
  }
}

/** Every blob of the spec's code that the server lacks, uploaded from the local store. */
export async function uploadCode(server: RemoteServer, pathOf: (d: Digest) => string, spec: PipelineSpec): Promise<UploadReport> {
  const digests = new Set<Digest>();
  for (const step of spec.steps) {
    if (step.manifest !== undefined) digests.add(step.manifest as Digest);
    for (const d of Object.values(step.source)) digests.add(d as Digest);
  }
  // Asked through the REST client, which does not retry: a server that is down is said at once.
  const all = [...digests];
  const missing: Digest[] = [];
  for (let i = 0; i < all.length; i += MAX_DIGESTS_PER_QUERY) {
    const reply = await server.json("BlobMissing", "POST", "/blobs/missing", { digests: all.slice(i, i + MAX_DIGESTS_PER_QUERY) });
    missing.push(...(reply.missing as Digest[]));
  }
  let bytes = 0;
  const queue = [...missing];
  await Promise.all(
    Array.from({ length: Math.min(PARALLEL_UPLOADS, queue.length) }, async () => {
      for (let d = queue.shift(); d !== undefined; d = queue.shift()) bytes += (await server.blobs.upload(d, pathOf(d))).bytes;
    }),
  );
  return { blobs: digests.size, uploaded: missing.length, bytes };
}
