import type { StepStatus } from "./runView.js";

export interface StatusStyle {
  /** The word a person reads (translated by surfaces that translate). */
  readonly word: string;
  /** One character before the word, so a status reads without colour (text fallback, CLI). */
  readonly symbol: string;
  /** Stroke and text colour: mid-tone, readable on the tint and on a dark theme's background. */
  readonly colour: string;
  /** Light background tint of a node or badge in this status. */
  readonly tint: string;
}

/**
 * Every status a step or a run can be in, and how every surface shows it: the notebook's
 * HTML/SVG and text fallbacks, the lab renderer and panel, the studio page. A run's statuses
 * are a subset of a step's, so one table serves both.
 */
export const STATUS_TABLE: { readonly [S in StepStatus]: StatusStyle } = {
  queued: { word: "queued", symbol: "·", colour: "#80868b", tint: "#f1f3f4" },
  running: { word: "running", symbol: "▶", colour: "#1e88e5", tint: "#e3f2fd" },
  completed: { word: "completed", symbol: "✓", colour: "#2e7d32", tint: "#e8f5e9" },
  failed: { word: "failed", symbol: "✗", colour: "#d32f2f", tint: "#ffebee" },
  reused: { word: "reused", symbol: "↺", colour: "#7b5fc7", tint: "#ede7f6" },
  skipped: { word: "skipped", symbol: "–", colour: "#9e9e9e", tint: "#fafafa" },
  canceled: { word: "canceled", symbol: "■", colour: "#ef6c00", tint: "#fff3e0" },
};
