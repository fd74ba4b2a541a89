import { unreachable } from "../errors/PipebookError.js";
import type { Workspace } from "../workspace/Workspace.js";
import { PipelineEndpoint } from "./PipelineEndpoint.js";
import { PublishedPipeline } from "./PublishedPipeline.js";
import type { ScheduleTarget } from "../store/ScheduleStore.js";

export interface ResolvedTarget {
  readonly pipeline: PublishedPipeline;
  /** Set when the pipeline was reached through an endpoint: which one, and which version. */
  readonly via?: { readonly endpoint: string; readonly version: string };
}

/** The published pipeline a REST call or a schedule runs: by id, or behind an endpoint's version. */
export async function resolveTarget(ws: Workspace, target: ScheduleTarget): Promise<ResolvedTarget> {
  switch (target.kind) {
    case "pipeline":
      return { pipeline: await PublishedPipeline.get(ws, target.id) };
    case "endpoint": {
      const endpoint = await PipelineEndpoint.get(ws, target.name);
      const version = target.version ?? endpoint.defaultVersion;
      return { pipeline: await endpoint.getPipeline(version), via: { endpoint: endpoint.name, version } };
    }
    default:
      return unreachable(target);
  }
}

export function describeTarget(target: ScheduleTarget): string {
  switch (target.kind) {
    case "pipeline":
      return `pipeline ${target.id}`;
    case "endpoint":
      return `endpoint ${target.name}${target.version !== undefined ? ` version ${target.version}` : ""}`;
    default:
      return unreachable(target);
  }
}
