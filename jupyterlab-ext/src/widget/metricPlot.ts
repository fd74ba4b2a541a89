import type { MetricView } from "pipebook/contract";
import { seriesPolyline, summariseMetric } from "../model/metricSeries.js";
import { html, svg } from "./svg.js";

const PLOT_WIDTH = 160;
const PLOT_HEIGHT = 36;

/** A metrics table: name, last value, and a small line plot when the metric is a series. */
export function metricsTable(metrics: readonly MetricView[]): HTMLTableElement {
  const table = html("table", "pb-Metrics");
  for (const metric of metrics) {
    const summary = summariseMetric(metric);
    const row = table.insertRow();
    row.setAttribute("data-metric", summary.name);
    row.appendChild(html("th", undefined, summary.name));
    row.appendChild(html("td", "pb-Metrics-value", summary.last));
    const plotCell = html("td", "pb-Metrics-plot");
    const line = seriesPolyline(summary.series, PLOT_WIDTH, PLOT_HEIGHT);
    if (line !== undefined) {
      const plot = svg("svg", { width: PLOT_WIDTH, height: PLOT_HEIGHT, viewBox: `0 0 ${PLOT_WIDTH} ${PLOT_HEIGHT}`, class: "pb-Sparkline", role: "img" });
      plot.setAttribute("aria-label", `${summary.name}: ${summary.series.length} points from ${line.min} to ${line.max}`);
      plot.appendChild(svg("polyline", { points: line.points, class: "pb-Sparkline-line" }));
      const title = svg("title");
      title.textContent = `${summary.series.length} points, min ${line.min}, max ${line.max}`;
      plot.appendChild(title);
      plotCell.appendChild(plot);
    }
    row.appendChild(plotCell);
  }
  return table;
}
