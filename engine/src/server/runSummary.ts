import type { RunSummary } from "../contract/rest.js";
import type { RunRow } from "../store/RunStore.js";

/** One run in a list reply (`GET /runs`, a pipeline's or an endpoint's runs): what the panel and the page show. */
export function runSummary(run: RunRow): RunSummary {
  return {
    runId: run.id, experiment: run.experiment, status: run.status, source: run.source, createdAt: run.createdAt,
    ...(run.endedAt && { endedAt: run.endedAt }), ...(run.error && { error: run.error }), parameters: run.parameters,
  };
}
