import { formatMetric, type MetricView } from "pipebook/contract";

export interface MetricSummary {
  readonly name: string;
  /** The last value logged, as text (string metrics are shown as they are). */
  readonly last: string;
  /** Numeric points in logging order; a plot is drawn when there are two or more. */
  readonly series: readonly number[];
}

export function summariseMetric(metric: MetricView): MetricSummary {
  const points = [...metric.points].sort((a, b) => a.index - b.index);
  const series = points.map((p) => p.value).filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  return { name: metric.name, last: formatMetric(metric), series };
}

export interface Polyline {
  /** SVG `points` attribute. */
  readonly points: string;
  readonly min: number;
  readonly max: number;
}

/**
 * Maps a series into a width × height box (y grows downwards in SVG). A flat series is drawn
 * through the middle instead of dividing by zero.
 */
export function seriesPolyline(series: readonly number[], width: number, height: number, pad = 2): Polyline | undefined {
  if (series.length < 2) {
    return undefined;
  }
  const min = Math.min(...series);
  const max = Math.max(...series);
  const span = max - min;
  const step = (width - 2 * pad) / (series.length - 1);
  const points = series.map((value, index) => {
    const x = pad + index * step;
    const y = span === 0 ? height / 2 : pad + (1 - (value - min) / span) * (height - 2 * pad);
    return `${round(x)},${round(y)}`;
  });
  return { points: points.join(" "), min, max };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
