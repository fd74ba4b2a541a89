import { formatDuration } from "../contract/formatDuration.js";
import type { RunRow, StepRunRow } from "../store/RunStore.js";

/** Formatting helpers for the CLI printer: the one place its wording and layout live. */
export function duration(startedAt: string | null, endedAt: string | null): string {
  if (!startedAt) return "";
  // Worded as every other surface words durations (pipebook/contract's formatDuration).
  return formatDuration((endedAt ? Date.parse(endedAt) : Date.now()) - Date.parse(startedAt));
}

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export function runLine(r: RunRow): string[] {
  return [r.id, r.experiment, r.status, r.createdAt.replace("T", " ").slice(0, 19), duration(r.startedAt, r.endedAt), r.source];
}

export function stepLine(s: StepRunRow, why: string): string[] {
  return [s.name, s.status, duration(s.startedAt, s.endedAt), s.compute, why];
}

export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
