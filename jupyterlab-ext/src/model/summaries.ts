/**
 * The REST server's list replies (`GET /runs`, `/pipelines`, `/endpoints`) as the panel shows
 * them: the contract's reply types (pipebook/contract/rest), checked on arrival, so a server of
 * another shape is one clear error rather than an empty or half-filled panel.
 */
import { readReply, type PipelineEndpointReply, type PublishedPipelineReply, type RunSummary } from "pipebook/contract/rest";

export type { RunSummary };
export type PipelineSummary = PublishedPipelineReply;
export type EndpointSummary = PipelineEndpointReply;

export function readRunSummaries(reply: unknown): readonly RunSummary[] {
  return readReply("RunList", reply).runs;
}

export function readPipelineSummaries(reply: unknown): readonly PipelineSummary[] {
  return readReply("PublishedPipelineList", reply);
}

export function readEndpointSummaries(reply: unknown): readonly EndpointSummary[] {
  return readReply("PipelineEndpointList", reply);
}
