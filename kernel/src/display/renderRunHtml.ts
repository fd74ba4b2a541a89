import { formatDuration, type RunView } from "pipebook/contract";
import { renderRunSvg } from "./renderRunSvg.js";
import { escapeXml, formatMetric, lastLines, STEP_STYLE } from "./stepStyle.js";

/** The text/html fallback: header, the SVG graph and a step table, with inline styles only. */
export function renderRunHtml(view: RunView): string {
  const rows = view.steps.map((s) => {
    const st = STEP_STYLE[s.status];
    const metrics = s.metrics.map((m) => `${escapeXml(m.name)}=${escapeXml(formatMetric(m.points[m.points.length - 1]?.value))}`).join(", ");
    const note = s.status === "reused" && s.reusedFrom ? `from run ${escapeXml(s.reusedFrom.runId)}` : escapeXml(s.error ?? s.why ?? "");
    return `<tr><td style="padding:2px 8px"><b>${escapeXml(s.name)}</b></td><td style="padding:2px 8px;color:${st.stroke}">${st.symbol} ${st.label}</td>`
      + `<td style="padding:2px 8px">${formatDuration(s.durationMs)}</td><td style="padding:2px 8px">${metrics}</td><td style="padding:2px 8px;color:#5f6368">${note}</td></tr>`
      // A failed step's last log lines: what a reader of a saved notebook needs to see why.
      + (s.status === "failed" && s.logTail ? `<tr><td></td><td colspan="4"><pre style="margin:0 0 4px;padding:4px 8px;background:#fff5f5;color:#b71c1c;font-size:12px;white-space:pre-wrap">${escapeXml(lastLines(s.logTail, 12))}</pre></td></tr>` : "");
  }).join("");
  const status = view.status;
  return `<div class="pipebook-run" data-run-id="${escapeXml(view.runId)}" style="font-family:Helvetica,Arial,sans-serif;font-size:13px">`
    + `<div style="margin:4px 0"><b>Run ${escapeXml(view.runId)}</b> · experiment ${escapeXml(view.experiment)} · <b>${escapeXml(status)}</b>${view.error ? ` · ${escapeXml(view.error)}` : ""}</div>`
    + renderRunSvg(view)
    + `<table style="border-collapse:collapse;margin-top:4px">${rows}</table></div>`;
}
