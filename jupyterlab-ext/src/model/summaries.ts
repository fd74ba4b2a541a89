/**
 * The REST server's list replies (`GET /runs`, `/pipelines`, `/endpoints`) as the panel shows
 * them: the contract's reply types (pipebook/contract/rest), checked on arrival, so a server of
 * another shape is one clear error rather than an empty or half-filled panel.
 */
import { readReply, type AgentList, type PipelineEndpointReply, type PublishedPipelineReply, type RunSummary } from "pipebook/contract/rest";

export type { RunSummary };
export type PipelineSummary = PublishedPipelineReply;
export type EndpointSummary = PipelineEndpointReply;
export type AgentSummary = AgentList["agents"][number];

export function readRunSummaries(reply: unknown): readonly RunSummary[] {
  return readReply("RunList", reply).runs;
}

export function readPipelineSummaries(reply: unknown): readonly PipelineSummary[] {
  return readReply("PublishedPipelineList", reply);
}

export function readEndpointSummaries(reply: unknown): readonly EndpointSummary[] {
  return readReply("PipelineEndpointList", reply);
}

/** `GET /agents`: the server's agents, each GPU a slot busy with a step or free. */
export function readAgentSummaries(reply: unknown): readonly AgentSummary[] {
  return readReply("AgentList", reply).agents;
}

/** "GPU 0 busy (run.step) · GPU 1 free": an agent's slots in one line. */
export function describeSlots(agent: AgentSummary): string {
  if (agent.slots.length === 0) return "no GPUs";
  return agent.slots.map((s) => `GPU ${s.gpu} ${s.step === null ? "free" : `busy (${s.step})`}`).join(" · ");
}
