/**
 * The REST server's list replies (`GET /runs`, `/pipelines`, `/endpoints`) as the panel shows
 * them: the contract's reply types (pipebook/contract/rest), checked on arrival, so a server of
 * another shape is one clear error (`PipebookRequestError` reason `reply-invalid`) rather than an
 * empty or half-filled panel.
 */
import { readReplyAs } from "../request.js";
import type { AgentList, PipelineEndpointReply, PublishedPipelineReply, RunSummary } from "pipebook/contract/rest";

export type { RunSummary };
export type PipelineSummary = PublishedPipelineReply;
export type EndpointSummary = PipelineEndpointReply;
export type AgentSummary = AgentList["agents"][number];

export function readRunSummaries(reply: unknown): readonly RunSummary[] {
  return readReplyAs("RunList", reply).runs;
}

export function readPipelineSummaries(reply: unknown): readonly PipelineSummary[] {
  return readReplyAs("PublishedPipelineList", reply);
}

export function readEndpointSummaries(reply: unknown): readonly EndpointSummary[] {
  return readReplyAs("PipelineEndpointList", reply);
}

/** `GET /agents`: the server's agents, each GPU a slot busy with a step or free. */
export function readAgentSummaries(reply: unknown): readonly AgentSummary[] {
  return readReplyAs("AgentList", reply).agents;
}

/** "GPU 0 busy (run.step) · GPU 1 free": an agent's slots in one line. */
export function describeSlots(agent: AgentSummary): string {
  if (agent.slots.length === 0) return "no GPUs";
  return agent.slots.map((s) => `GPU ${s.gpu} ${s.step === null ? "free" : `busy (${s.step})`}`).join(" · ");
}
