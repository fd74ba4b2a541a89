import { RUN_STATUSES, RUN_VIEW_VERSION, STATUS_TABLE, type RunStatus, type RunView, type StepStatus } from "pipebook/contract";

/**
 * The run view arrives from three places the renderer does not control: a live kernel
 * (a JSON object), a notebook saved by an older kernel or another tool (maybe a JSON
 * string, as tslab's `display.raw` sends), and the REST server. A malformed payload must
 * show a readable message in the output instead of throwing inside JupyterLab's output
 * area, so parsing is a value, not an exception.
 */
export type ParseRunViewResult =
  | { readonly ok: true; readonly run: RunView }
  | { readonly ok: false; readonly reason: "not-json" | "not-an-object" | "unknown-version" | "missing-field"; readonly detail: string };

/** The only payload version this renderer draws: the shared contract's, so the two cannot drift. */
export const SUPPORTED_RUN_VIEW_VERSION = RUN_VIEW_VERSION;

const STEP_STATUSES = Object.keys(STATUS_TABLE) as StepStatus[];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function parseRunView(data: unknown): ParseRunViewResult {
  let value = data;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value) as unknown;
    } catch (error) {
      return { ok: false, reason: "not-json", detail: String(error) };
    }
  }
  if (!isRecord(value)) {
    return { ok: false, reason: "not-an-object", detail: `expected an object, got ${value === null ? "null" : typeof value}` };
  }
  if (value["version"] !== SUPPORTED_RUN_VIEW_VERSION) {
    return { ok: false, reason: "unknown-version", detail: `run view version ${String(value["version"])} (this renderer draws version ${SUPPORTED_RUN_VIEW_VERSION})` };
  }
  for (const field of ["runId", "experiment"] as const) {
    if (typeof value[field] !== "string") {
      return { ok: false, reason: "missing-field", detail: `field "${field}" must be a string` };
    }
  }
  if (!RUN_STATUSES.includes(value["status"] as RunStatus)) {
    return { ok: false, reason: "missing-field", detail: `field "status" must be one of ${RUN_STATUSES.join(", ")}` };
  }
  const steps = value["steps"];
  if (!Array.isArray(steps)) {
    return { ok: false, reason: "missing-field", detail: `field "steps" must be an array` };
  }
  for (const [index, step] of steps.entries()) {
    if (!isRecord(step) || typeof step["name"] !== "string") {
      return { ok: false, reason: "missing-field", detail: `steps[${index}].name must be a string` };
    }
    if (!STEP_STATUSES.includes(step["status"] as StepStatus)) {
      return { ok: false, reason: "missing-field", detail: `steps[${index}].status must be one of ${STEP_STATUSES.join(", ")}` };
    }
  }
  if (!Array.isArray(value["edges"])) {
    return { ok: false, reason: "missing-field", detail: `field "edges" must be an array` };
  }
  return { ok: true, run: normalise(value as unknown as RunView) };
}

/** Optional arrays are filled in so that drawing code never branches on their absence. */
function normalise(run: RunView): RunView {
  return {
    ...run,
    parameters: run.parameters ?? {},
    steps: run.steps.map((step) => ({
      ...step,
      inputs: step.inputs ?? [],
      outputs: step.outputs ?? [],
      metrics: step.metrics ?? [],
      outputViews: step.outputViews ?? [],
    })),
  };
}
