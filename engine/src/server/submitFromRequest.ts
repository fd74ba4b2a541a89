import type { Request, Response } from "express";
import type { RunSubmitted } from "../contract/rest.js";
import type { ScheduleTarget } from "../store/ScheduleStore.js";
import { callerKey, callerOf } from "./Authenticator.js";
import { parseWith, RunRequestSchema } from "./schemas.js";
import type { ServerContext } from "./ServerContext.js";

/**
 * `POST /pipelines/{id}/runs` and `POST /endpoints/{name}/runs`: validates the seeds' body,
 * starts (or, with a known Idempotency-Key, finds) the run, and answers 201 with its id.
 */
export async function submitFromRequest(ctx: ServerContext, req: Request, res: Response, target: ScheduleTarget): Promise<void> {
  const body = parseWith(RunRequestSchema, req.body, "body");
  const key = req.get("Idempotency-Key");
  const submitted = await ctx.submitter.submit(
    {
      target,
      experiment: body.ExperimentName,
      parameterAssignments: body.ParameterAssignments ?? {},
      source: "api",
      ...(body.RegenerateOutputs !== undefined && { regenerateOutputs: body.RegenerateOutputs }),
    },
    key === undefined ? undefined : { key, caller: callerKey(callerOf(req)) },
  );
  if (submitted.replayed) res.set("Idempotent-Replayed", "true");
  res.status(201).json({
    Id: submitted.runId,
    Status: submitted.status,
    ExperimentName: submitted.experiment,
    ...(submitted.pipelineId !== undefined && { PipelineId: submitted.pipelineId }),
    ParameterAssignments: submitted.parameters,
    RunUrl: `/runs/${encodeURIComponent(submitted.runId)}`,
  } satisfies RunSubmitted);
}
