import { unreachable } from "../errors/PipebookError.js";
import type { RunEvent } from "./RunEvent.js";

const SYMBOL: Record<string, string> = {
  queued: "·", running: "▶", completed: "✓", reused: "↺", failed: "✗", skipped: "–", canceled: "■",
};

/** Plain-text progress for waitForCompletion({showOutput}) and the CLI: one line per change. */
export function formatEvent(e: RunEvent): string | undefined {
  switch (e.type) {
    case "run-status":
      return `run ${e.runId} ${e.status}${e.error ? `: ${e.error}` : ""}`;
    case "step-status": {
      const dur = e.durationMs !== undefined ? ` (${(e.durationMs / 1000).toFixed(2)}s)` : "";
      return `${SYMBOL[e.status] ?? "?"} ${e.step} ${e.status}${dur}${e.detail ? ` — ${e.detail}` : ""}`;
    }
    case "step-log":
      return e.text.replace(/\n$/, "").split("\n").map((l) => `  [${e.step}] ${l}`).join("\n");
    case "step-metric":
      return `  [${e.step}] metric ${e.name} = ${e.value}`;
    default:
      return unreachable(e);
  }
}

export function printEvent(e: RunEvent, out: NodeJS.WritableStream): void {
  const line = formatEvent(e);
  if (line !== undefined) out.write(`${line}\n`);
}
