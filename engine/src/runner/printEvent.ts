import { formatDuration } from "../contract/formatDuration.js";
import { STATUS_TABLE } from "../contract/statusTable.js";
import { unreachable } from "../errors/PipebookError.js";
import type { RunEvent } from "./RunEvent.js";

/** Plain-text progress for waitForCompletion({showOutput}) and the CLI: one line per change. */
export function formatEvent(e: RunEvent): string | undefined {
  switch (e.type) {
    case "run-status":
      return `run ${e.runId} ${e.status}${e.error ? `: ${e.error}` : ""}`;
    case "step-status": {
      const dur = e.durationMs !== undefined ? ` (${formatDuration(e.durationMs)})` : "";
      const { symbol, word } = STATUS_TABLE[e.status];
      return `${symbol} ${e.step} ${word}${dur}${e.detail ? ` — ${e.detail}` : ""}`;
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
