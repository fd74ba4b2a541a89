import { createReadStream } from "node:fs";
import { PipebookError, unreachable } from "../errors/PipebookError.js";
import { DatasetError } from "./DatasetFailure.js";
import type { FilterOp, TableFormat, TableTransform } from "./DatasetDefinition.js";

export type Row = Readonly<Record<string, string>>;

/** A file to read and the name a person knows it by (its datastore path), for error messages. */
export interface TableFile {
  readonly path: string;
  readonly label: string;
}

/**
 * Streams the rows of delimited files one after the other, applying the transforms in order.
 * Reading stops as soon as a `take` is exhausted: `take(5)` of a huge file reads five rows.
 * Yields the column names first (after projections), then rows.
 */
export async function* readTable(files: readonly TableFile[], format: TableFormat, transforms: readonly TableTransform[]): AsyncGenerator<{ columns: readonly string[] } | { row: Row }> {
  let columns: string[] | undefined;
  const pipeline = new TransformChain(transforms);
  for (const file of files) {
    // csv-parse loads when a table is read, not with the engine (every CLI call and notebook).
    const { parse } = await import("csv-parse");
    const parser = createReadStream(file.path).pipe(parse({ delimiter: format.separator, bom: true, skip_empty_lines: true, relax_quotes: true }));
    let first = true;
    try {
      for await (const record of parser as AsyncIterable<string[]>) {
        if (first && format.header) {
          first = false;
          if (!columns) {
            columns = record.map((c) => c.trim());
            yield { columns: pipeline.start(columns) };
          } else if (record.map((c) => c.trim()).join("\u0000") !== columns.join("\u0000")) {
            throw new DatasetError({ reason: "columns-differ", where: file.label, columns: record, first: columns });
          }
          continue;
        }
        first = false;
        if (!columns) {
          columns = record.map((_, i) => `Column${i + 1}`);
          yield { columns: pipeline.start(columns) };
        }
        if (record.length !== columns.length) {
          throw new DatasetError({ reason: "row-width", where: file.label, fields: record.length, columns: columns.length });
        }
        const out = pipeline.push(Object.fromEntries(columns.map((c, i) => [c, record[i]!])));
        if (out === STOP) return;
        if (out) yield { row: out };
      }
    } catch (err) {
      if (err instanceof PipebookError) throw err;
      throw new DatasetError({ reason: "unreadable", where: file.label, message: err instanceof Error ? err.message : String(err) });
    } finally {
      parser.destroy();
    }
  }
  if (!columns) yield { columns: pipeline.start([]) };
}

const STOP = Symbol("stop");

class TransformChain {
  private readonly counts: number[];

  constructor(private readonly transforms: readonly TableTransform[]) {
    this.counts = transforms.map(() => 0);
  }

  /** Checks every named column exists at its point in the chain; returns the output columns. */
  start(columns: readonly string[]): readonly string[] {
    let current = [...columns];
    for (const t of this.transforms) {
      const named = t.op === "keep-columns" || t.op === "drop-columns" ? t.columns : t.op === "filter" ? [t.column] : [];
      const missing = named.filter((c) => !current.includes(c));
      if (missing.length > 0) {
        throw new DatasetError({ reason: "column-unknown", op: t.op, missing, columns: current });
      }
      if (t.op === "keep-columns") current = current.filter((c) => t.columns.includes(c));
      if (t.op === "drop-columns") current = current.filter((c) => !t.columns.includes(c));
    }
    return current;
  }

  push(row: Row): Row | undefined | typeof STOP {
    let r = row;
    for (let i = 0; i < this.transforms.length; i++) {
      const t = this.transforms[i]!;
      switch (t.op) {
        case "skip":
          if (this.counts[i]! < t.n) {
            this.counts[i]!++;
            return undefined;
          }
          break;
        case "take":
          // Rows reach a transform in order, so once it has let n through nothing else can pass.
          if (this.counts[i]! >= t.n) return STOP;
          this.counts[i]!++;
          break;
        case "keep-columns":
          r = Object.fromEntries(Object.entries(r).filter(([c]) => t.columns.includes(c)));
          break;
        case "drop-columns":
          r = Object.fromEntries(Object.entries(r).filter(([c]) => !t.columns.includes(c)));
          break;
        case "filter":
          if (!passes(r[t.column] ?? "", t.test, t.value)) return undefined;
          break;
        default:
          return unreachable(t);
      }
    }
    return r;
  }
}

/** Numbers compare as numbers when both sides are numeric; anything else compares as text. */
function passes(cell: string, test: FilterOp, value: string | number): boolean {
  const a = Number(cell);
  const b = Number(value);
  const numeric = cell.trim() !== "" && String(value).trim() !== "" && Number.isFinite(a) && Number.isFinite(b);
  const cmp = numeric ? a - b : cell < String(value) ? -1 : cell > String(value) ? 1 : 0;
  switch (test) {
    case "==":
      return cmp === 0;
    case "!=":
      return cmp !== 0;
    case "<":
      return cmp < 0;
    case "<=":
      return cmp <= 0;
    case ">":
      return cmp > 0;
    case ">=":
      return cmp >= 0;
    default:
      return unreachable(test);
  }
}
