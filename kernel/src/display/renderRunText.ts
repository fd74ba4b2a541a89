import { formatDuration, formatMetric, STATUS_TABLE, type RunView } from "pipebook/contract";
import { lastLines } from "./lastLines.js";

/** The text/plain fallback: one line per step, what a terminal or a plain viewer shows. */
export function renderRunText(view: RunView): string {
  const width = Math.max(4, ...view.steps.map((s) => s.name.length));
  const lines = [`Run ${view.runId} (experiment ${view.experiment}): ${STATUS_TABLE[view.status].word}${view.error ? ` - ${view.error}` : ""}`];
  for (const s of view.steps) {
    const st = STATUS_TABLE[s.status];
    const from = s.status === "reused" && s.reusedFrom ? ` from run ${s.reusedFrom.runId}` : "";
    const metrics = s.metrics.map((m) => `${m.name}=${formatMetric(m)}`).join(" ");
    lines.push(`  ${st.symbol} ${s.name.padEnd(width)}  ${st.word.padEnd(9)} ${formatDuration(s.durationMs).padEnd(8)}${from}${metrics ? `  ${metrics}` : ""}${s.error ? `  ${s.error}` : ""}`);
    if (s.status === "failed" && s.logTail) for (const l of lastLines(s.logTail, 6).split("\n")) lines.push(`      | ${l}`);
  }
  // Data the run read or registered: a dataset's version or the path on its datastore, and the steps.
  for (const d of view.data ?? []) {
    const where = d.datastore !== undefined ? `${d.detail} on ${d.datastore}` : d.detail;
    const steps = d.writtenBy !== undefined ? `<- ${d.writtenBy}` : `-> ${d.readBy.join(", ")}`;
    lines.push(`  data ${d.kind === "datastore" ? "input" : d.kind} ${d.name} ${where}  ${steps}`);
  }
  return lines.join("\n");
}
