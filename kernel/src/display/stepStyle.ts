import type { StepStatus } from "pipebook/contract";

/** Colour and symbol per step status: one table, used by the SVG, the HTML table and the text. */
export const STEP_STYLE: { readonly [S in StepStatus]: { readonly fill: string; readonly stroke: string; readonly symbol: string; readonly label: string } } = {
  queued: { fill: "#f1f3f4", stroke: "#9aa0a6", symbol: "·", label: "queued" },
  running: { fill: "#e3f2fd", stroke: "#1e88e5", symbol: "▶", label: "running" },
  completed: { fill: "#e8f5e9", stroke: "#43a047", symbol: "✓", label: "completed" },
  failed: { fill: "#ffebee", stroke: "#e53935", symbol: "✗", label: "failed" },
  reused: { fill: "#f3e5f5", stroke: "#8e24aa", symbol: "↺", label: "reused" },
  skipped: { fill: "#fafafa", stroke: "#bdbdbd", symbol: "-", label: "skipped" },
  canceled: { fill: "#fff3e0", stroke: "#fb8c00", symbol: "⊘", label: "canceled" },
};

export function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A metric's latest value, short: 0.8666666 → 0.8667. */
export function formatMetric(v: number | string | undefined): string {
  if (typeof v !== "number") return v ?? "";
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

/** The last `n` lines of a log tail. */
export function lastLines(text: string, n: number): string {
  return text.replace(/\s+$/, "").split("\n").slice(-n).join("\n");
}
