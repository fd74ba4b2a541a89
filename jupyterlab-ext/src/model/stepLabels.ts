import type { TranslationBundle } from "@jupyterlab/translation";
import type { RunStatus, StepStatus, StepView } from "pipebook/contract";
import { formatDuration, shortRunId } from "./formatDuration.js";
import { summariseMetric } from "./metricSeries.js";

/**
 * Every word the run renderer shows about a step, in one place (STYLE: user-facing wording lives
 * in one place per surface). Tests read these too, so "done" in a test means what a user reads.
 */
export function statusLabel(status: StepStatus, trans: Pick<TranslationBundle, "__">): string {
  switch (status) {
    case "queued":
      return trans.__("queued");
    case "running":
      return trans.__("running");
    case "completed":
      return trans.__("done");
    case "failed":
      return trans.__("failed");
    case "reused":
      return trans.__("reused");
    case "skipped":
      return trans.__("skipped");
    case "canceled":
      return trans.__("canceled");
    default: {
      const never: never = status;
      return String(never);
    }
  }
}

/** Second line of a node: status, then duration when there is one. */
export function statusLine(step: StepView, trans: Pick<TranslationBundle, "__">): string {
  const duration = step.status === "reused" ? "" : formatDuration(step.durationMs);
  return duration === "" ? statusLabel(step.status, trans) : `${statusLabel(step.status, trans)} · ${duration}`;
}

/**
 * Third line of a node: where a reused result came from, else the error's first words, else the
 * first metric's last value, else nothing.
 */
export function detailLine(step: StepView, trans: Pick<TranslationBundle, "__">): string {
  if (step.status === "reused" && step.reusedFrom !== undefined) {
    return trans.__("from run %1", shortRunId(step.reusedFrom.runId));
  }
  if ((step.status === "failed" || step.status === "canceled" || step.status === "skipped") && step.error !== undefined) {
    return step.error.split("\n")[0] ?? "";
  }
  const first = step.metrics[0];
  if (first !== undefined) {
    return `${first.name} ${summariseMetric(first).last}`;
  }
  return "";
}

/** Cuts text to a number of characters with an ellipsis; SVG text does not clip on its own. */
export function fitText(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(0, maxChars - 1))}…`;
}

/** The run's own status, as the run header shows it. */
export function runStatusLabel(status: RunStatus, trans: Pick<TranslationBundle, "__">): string {
  switch (status) {
    case "queued":
      return trans.__("queued");
    case "running":
      return trans.__("running");
    case "completed":
      return trans.__("completed");
    case "failed":
      return trans.__("failed");
    case "canceled":
      return trans.__("canceled");
    default: {
      const never: never = status;
      return String(never);
    }
  }
}
