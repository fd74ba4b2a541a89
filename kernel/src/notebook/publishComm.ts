import type * as Pipebook from "pipebook";
import { isExpectedFailure, nameProblem, PUBLISH_COMM_TARGET, versionProblem, type FailureCode, type PublishCommReply, type PublishCommRequest } from "pipebook/contract";
import type { CommManager } from "../comm/commManager.js";
import type { JsonObject } from "../protocol/messages.js";

/**
 * The kernel's end of the lab's "Publish pipeline as endpoint" when no server is configured:
 * a comm on PUBLISH_COMM_TARGET carries the request in its open message and gets one typed
 * reply, then closes. Nothing runs in the user's namespace and no output is scraped.
 */
export function registerPublishComm(comms: CommManager, loadPipebook: () => Promise<typeof Pipebook>, workspace: () => Promise<Pipebook.Workspace>): void {
  comms.registerTarget(PUBLISH_COMM_TARGET, (comm, data) => {
    void publish(data, loadPipebook, workspace).then((reply) => {
      comm.send(reply as unknown as JsonObject);
      comm.close();
    });
  });
}

async function publish(data: JsonObject, loadPipebook: () => Promise<typeof Pipebook>, workspace: () => Promise<Pipebook.Workspace>): Promise<PublishCommReply> {
  const request = readRequest(data);
  if (typeof request === "string") return { ok: false, error: request };
  try {
    const pb = await loadPipebook();
    const ws = await workspace();
    const run = await pb.PipelineRun.get(ws, request.runId);
    const published = await run.publishPipeline({ name: request.name, version: request.version, description: request.description });
    const endpoint = await pb.PipelineEndpoint.publish(ws, { name: request.name, pipeline: published, description: request.description });
    return {
      ok: true, pipelineId: published.id, pipelineVersion: published.version, pipelineUrl: published.endpoint,
      endpoint: endpoint.name, endpointVersion: endpoint.defaultVersion, endpointUrl: endpoint.endpoint, version: endpoint.defaultVersion,
    };
  } catch (err) {
    if (!isExpectedFailure(err)) return { ok: false, error: err instanceof Error ? err.message : String(err) };
    // An expected failure of the engine's (maybe another copy's): its sentence, code and reason, as the REST reply gives them.
    const { code, failure } = err as { code?: FailureCode; failure?: { reason?: unknown } };
    return { ok: false, error: err.message, ...(code !== undefined && { code }), ...(typeof failure?.reason === "string" && { reason: failure.reason }) };
  }
}

function readRequest(data: JsonObject): PublishCommRequest | string {
  const { runId, name, version, description } = data;
  for (const [field, value] of Object.entries({ runId, name, version, description })) {
    if (typeof value !== "string") return `the publish request's ${field} must be a string, got ${value === undefined ? "nothing" : typeof value}`;
  }
  const problem = nameProblem(name as string) ?? versionProblem(version as string);
  if (problem) return `cannot publish: ${problem}`;
  return { runId: runId as string, name: name as string, version: version as string, description: description as string };
}
