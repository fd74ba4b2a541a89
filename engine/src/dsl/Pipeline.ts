import { DeclarationError } from "./DeclarationFailure.js";
import { buildGraph, flattenSteps, type PipelineGraph, type StepList } from "../graph/buildGraph.js";
import type { PipelineStep } from "./steps.js";
import type { PipelineParameter } from "./PipelineParameter.js";
import type { Workspace } from "../workspace/Workspace.js";
import type { PublishedPipeline, PublishOptions } from "../publish/PublishedPipeline.js";

/** Steps of a workspace; the graph is derived from their data dependencies when first needed. */
export class Pipeline {
  readonly steps: readonly PipelineStep[];
  readonly description: string;
  private cached: PipelineGraph | undefined;

  constructor(
    readonly workspace: Workspace,
    options: { steps: StepList; description?: string },
  ) {
    this.steps = flattenSteps(options.steps);
    this.description = options.description ?? "";
  }

  /** The validated graph; throws a PipebookError listing every problem. */
  get graph(): PipelineGraph {
    this.cached ??= buildGraph(this.steps, this.workspace.computeTargetNames);
    return this.cached;
  }

  validate(): PipelineGraph {
    this.cached = undefined;
    return this.graph;
  }

  /**
   * Publishes this pipeline without running it: snapshots its steps and stores it, immutable,
   * under a name and version (see PublishedPipeline).
   */
  publish(options: PublishOptions): Promise<PublishedPipeline> {
    return this.workspace.services.publish(this, options);
  }

  /** Every parameter any step reads; one name must mean one parameter. */
  get parameters(): PipelineParameter[] {
    const byName = new Map<string, PipelineParameter>();
    for (const step of this.steps) {
      for (const p of step.parameters) {
        const seen = byName.get(p.name);
        if (seen && (seen.defaultValue !== p.defaultValue || seen.type !== p.type)) {
          throw new DeclarationError({ reason: "parameter-clash", name: p.name, defaults: [seen.defaultValue, p.defaultValue] });
        }
        byName.set(p.name, p);
      }
    }
    return [...byName.values()];
  }
}
