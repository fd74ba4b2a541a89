import type { MetricView } from "./runView.js";

/** A metric's latest value (highest index) as a node, a table or a text line shows it: 0.93333 → 0.9333. */
export function formatMetric(metric: MetricView): string {
  let latest: MetricView["points"][number] | undefined;
  for (const point of metric.points) {
    if (latest === undefined || point.index >= latest.index) latest = point;
  }
  return latest === undefined ? "" : formatMetricValue(latest.value);
}

/** At most four decimals; very large or small values in exponent form; strings as they are. */
export function formatMetricValue(value: number | string): string {
  if (typeof value === "string") {
    return value;
  }
  if (Number.isInteger(value)) {
    return String(value);
  }
  return Math.abs(value) >= 1000 || Math.abs(value) < 0.001 ? value.toExponential(3) : value.toFixed(4).replace(/0+$/, "").replace(/\.$/, "");
}
