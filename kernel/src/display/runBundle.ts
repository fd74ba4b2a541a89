import { RUN_MIME_TYPE, type RunView } from "pipebook/contract";
import type { MimeBundle } from "../protocol/messages.js";
import { renderRunHtml } from "./renderRunHtml.js";
import { renderRunText } from "./renderRunText.js";

/** The run display: the contract payload as a JSON object, plus HTML/SVG and text fallbacks. */
export function runBundle(view: RunView): MimeBundle {
  return { [RUN_MIME_TYPE]: view, "text/html": renderRunHtml(view), "text/plain": renderRunText(view) };
}

/** A RunView value (what waitForCompletion returns), recognised by shape since it may come from another pipebook copy. */
export function isRunView(v: unknown): v is RunView {
  if (typeof v !== "object" || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o["runId"] === "string" && typeof o["experiment"] === "string" && Array.isArray(o["steps"]) && Array.isArray(o["edges"]) && typeof o["version"] === "number";
}
