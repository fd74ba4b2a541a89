import { escapeXml, formatDuration, formatMetric, renderRunGraph, STATUS_TABLE, svgToString, type RunView } from "pipebook/contract";
import { lastLines } from "./lastLines.js";

/** The text/html fallback: header, the shared SVG graph and a step table, with inline styles only. */
export function renderRunHtml(view: RunView): string {
  const rows = view.steps.map((s) => {
    const st = STATUS_TABLE[s.status];
    const metrics = s.metrics.map((m) => `${escapeXml(m.name)}=${escapeXml(formatMetric(m))}`).join(", ");
    const note = s.status === "reused" && s.reusedFrom ? `from run ${escapeXml(s.reusedFrom.runId)}` : escapeXml(s.error ?? s.why ?? "");
    return `<tr><td style="padding:2px 8px"><b>${escapeXml(s.name)}</b></td><td style="padding:2px 8px;color:${st.colour}">${st.symbol} ${st.word}</td>`
      + `<td style="padding:2px 8px">${formatDuration(s.durationMs)}</td><td style="padding:2px 8px">${metrics}</td><td style="padding:2px 8px;color:#5f6368">${note}</td></tr>`
      + (s.status === "failed" && s.logTail ? `<tr><td></td><td colspan="4"><pre style="margin:0 0 4px;padding:4px 8px;background:#fff5f5;color:#b71c1c;font-size:12px;white-space:pre-wrap">${escapeXml(lastLines(s.logTail, 12))}</pre></td></tr>` : "");
  }).join("");
  const run = STATUS_TABLE[view.status];
  return `<div class="pipebook-run" data-run-id="${escapeXml(view.runId)}" style="font-family:Helvetica,Arial,sans-serif;font-size:13px">`
    + `<div style="margin:4px 0"><b>Run ${escapeXml(view.runId)}</b> · experiment ${escapeXml(view.experiment)} · <b style="color:${run.colour}">${run.word}</b>${view.error ? ` · ${escapeXml(view.error)}` : ""}</div>`
    + svgToString(renderRunGraph(view))
    + `<table style="border-collapse:collapse;margin-top:4px">${rows}</table></div>`;
}
