import type { Workspace } from "../dsl/Workspace.js";
import { PipelineEndpoint } from "./PipelineEndpoint.js";
import { PublishedPipeline } from "./PublishedPipeline.js";
import type { ScheduleTarget } from "./ScheduleStore.js";

/** The published pipeline a REST call or a schedule runs: by id, or behind an endpoint's version. */
export async function resolveTarget(ws: Workspace, target: ScheduleTarget): Promise<PublishedPipeline> {
  switch (target.kind) {
    case "pipeline":
      return PublishedPipeline.get(ws, target.id);
    case "endpoint":
      return (await PipelineEndpoint.get(ws, target.name)).getPipeline(target.version);
    default:
      return unreachableTarget(target);
  }
}

export function describeTarget(target: ScheduleTarget): string {
  switch (target.kind) {
    case "pipeline":
      return `pipeline ${target.id}`;
    case "endpoint":
      return `endpoint ${target.name}${target.version !== undefined ? ` version ${target.version}` : ""}`;
    default:
      return unreachableTarget(target);
  }
}

function unreachableTarget(x: never): never {
  throw new Error(`unreachable: ${JSON.stringify(x)}`);
}
