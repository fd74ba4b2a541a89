import { MIME_BUNDLE } from "../contract/runHandle.js";
import type { Row } from "./readTable.js";

/** Summary statistics of one column, as a data scientist reads them before training on it. */
export type ColumnProfile = {
  readonly name: string;
  /** Non-empty cells. */
  readonly count: number;
  /** Empty cells. */
  readonly missing: number;
  /** Distinct non-empty values (counted up to 10,000). */
  readonly distinct: number;
} & (
  | { readonly type: "number"; readonly min: number; readonly max: number; readonly mean: number; readonly std: number }
  | { readonly type: "string"; readonly mostCommon: string; readonly mostCommonCount: number }
  | { readonly type: "empty" }
);

const DISTINCT_CAP = 10_000;

class ColumnStats {
  count = 0;
  missing = 0;
  numeric = true;
  // Welford's running mean and variance: one pass, numerically stable.
  mean = 0;
  m2 = 0;
  min = Infinity;
  max = -Infinity;
  readonly values = new Map<string, number>();

  constructor(readonly name: string) {}

  add(cell: string): void {
    if (cell.trim() === "") {
      this.missing++;
      return;
    }
    this.count++;
    if (this.values.size < DISTINCT_CAP || this.values.has(cell)) this.values.set(cell, (this.values.get(cell) ?? 0) + 1);
    const x = Number(cell);
    if (!this.numeric || !Number.isFinite(x)) {
      this.numeric = false;
      return;
    }
    const d = x - this.mean;
    this.mean += d / this.count;
    this.m2 += d * (x - this.mean);
    this.min = Math.min(this.min, x);
    this.max = Math.max(this.max, x);
  }

  result(): ColumnProfile {
    const base = { name: this.name, count: this.count, missing: this.missing, distinct: this.values.size };
    if (this.count === 0) return { ...base, type: "empty" };
    if (this.numeric) return { ...base, type: "number", min: this.min, max: this.max, mean: this.mean, std: this.count > 1 ? Math.sqrt(this.m2 / (this.count - 1)) : 0 };
    let mostCommon = "";
    let mostCommonCount = 0;
    for (const [v, n] of this.values) if (n > mostCommonCount) [mostCommon, mostCommonCount] = [v, n];
    return { ...base, type: "string", mostCommon, mostCommonCount };
  }
}

/** Profiles rows in one pass; shows itself as a table in a notebook. */
export class DatasetProfile {
  private constructor(
    readonly rowCount: number,
    readonly columns: readonly ColumnProfile[],
  ) {}

  static async of(source: AsyncIterable<{ columns: readonly string[] } | { row: Row }>): Promise<DatasetProfile> {
    let stats: ColumnStats[] = [];
    let rows = 0;
    for await (const item of source) {
      if ("columns" in item) {
        stats = item.columns.map((c) => new ColumnStats(c));
        continue;
      }
      rows++;
      for (const s of stats) s.add(item.row[s.name] ?? "");
    }
    return new DatasetProfile(rows, stats.map((s) => s.result()));
  }

  /** Rows of cells for a table: column, type, count, missing, distinct, min, max, mean, std / most common. */
  table(): { readonly header: readonly string[]; readonly rows: readonly (readonly string[])[] } {
    const f = (x: number): string => String(Number(x.toPrecision(4)));
    return {
      header: ["column", "type", "count", "missing", "distinct", "min", "max", "mean", "std", "most common"],
      rows: this.columns.map((c) => [
        c.name, c.type, String(c.count), String(c.missing), String(c.distinct),
        ...(c.type === "number" ? [f(c.min), f(c.max), f(c.mean), f(c.std), ""] : ["", "", "", "", c.type === "string" ? `${c.mostCommon} (${c.mostCommonCount})` : ""]),
      ]),
    };
  }

  toString(): string {
    const { header, rows } = this.table();
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
    return [`${this.rowCount} rows, ${this.columns.length} columns`, line(header), ...rows.map(line)].join("\n");
  }

  /** Shown as a table by the pipebook kernel (its mime-bundle protocol), as text elsewhere. */
  [MIME_BUNDLE](): Record<string, string> {
    const { header, rows } = this.table();
    const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    const html =
      `<p>${this.rowCount} rows, ${this.columns.length} columns</p><table><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>` +
      `<tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
    return { "text/html": html, "text/plain": this.toString() };
  }
}
