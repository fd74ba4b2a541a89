import { formatDuration } from "./formatDuration.js";
import { formatMetric } from "./formatMetric.js";
import type { RunStatus, StepStatus, StepView } from "./runView.js";
import { shortRunId } from "./shortRunId.js";
import { STATUS_TABLE } from "./statusTable.js";

/**
 * Turns an English message with `%1`-style slots into what a person reads. The lab passes
 * JupyterLab's translator (`trans.__`); other surfaces read English.
 */
export type Translate = (text: string, ...args: (string | number)[]) => string;

export const untranslated: Translate = (text, ...args) => text.replace(/%(\d)/g, (slot, i: string) => String(args[Number(i) - 1] ?? slot));

/** The status word of a step or a run. */
export function statusWord(status: StepStatus | RunStatus, t: Translate = untranslated): string {
  return t(STATUS_TABLE[status].word);
}

/** Second line of a node: status, then duration when there is one (a reused step took no time). */
export function statusLine(step: StepView, t: Translate = untranslated): string {
  const duration = step.status === "reused" ? "" : formatDuration(step.durationMs);
  return duration === "" ? statusWord(step.status, t) : `${statusWord(step.status, t)} · ${duration}`;
}

/**
 * Third line of a node: where a reused result came from, else the error's first line, else the
 * first metric's latest value, else nothing.
 */
export function detailLine(step: StepView, t: Translate = untranslated): string {
  if (step.status === "reused" && step.reusedFrom !== undefined) {
    return t("from run %1", shortRunId(step.reusedFrom.runId));
  }
  if ((step.status === "failed" || step.status === "canceled" || step.status === "skipped") && step.error !== undefined) {
    return step.error.split("\n")[0] ?? "";
  }
  const first = step.metrics[0];
  return first === undefined ? "" : `${first.name} ${formatMetric(first)}`;
}

/** Cuts text to a number of characters with an ellipsis; SVG text does not clip on its own. */
export function fitText(text: string, maxChars: number): string {
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(0, maxChars - 1))}…`;
}
