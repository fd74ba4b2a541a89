import { SourceMap } from "node:module";
import { isExpectedFailure } from "pipebook/contract";
import type { ErrorContent } from "../protocol/messages.js";

/** Where each cell's script came from, to point stack frames at the TypeScript the user wrote. */
export interface CellSource {
  readonly label: string;
  /** Parsed on first use: most cells never throw. */
  map: SourceMap | undefined | null;
  readonly mapJson: string;
  /** Characters the script prefix adds to the first line. */
  readonly firstLineShift: number;
  /** The script's last line holds only the wrapper call `})()`: frames there are ours. */
  readonly lastLine: number;
}

export class CellSources {
  readonly #cells = new Map<string, CellSource>();

  add(label: string, sourceMapJson: string, firstLineShift: number, lastLine: number): void {
    this.#cells.set(label, { label, map: null, mapJson: sourceMapJson, firstLineShift, lastLine });
    if (this.#cells.size > 5000) this.#cells.delete(this.#cells.keys().next().value as string);
  }

  /** A frame of the kernel's own wrapper around the cell, not of the user's code. */
  isWrapperFrame(line: string): boolean {
    const m = /(In\[\d+\]):(\d+):\d+\)?\s*$/.exec(line);
    if (!m) return false;
    const cell = this.#cells.get(m[1]!);
    return cell !== undefined && Number(m[2]) === cell.lastLine;
  }

  /** Maps `In[3]:4:10` in a stack line to the cell's own line and column. */
  mapFrame(line: string): string {
    return line.replace(/(In\[\d+\]):(\d+):(\d+)/g, (whole, label: string, l: string, c: string) => {
      const cell = this.#cells.get(label);
      if (!cell) return whole;
      const line0 = Number(l) - 1;
      const col0 = Math.max(0, Number(c) - 1 - (line0 === 0 ? cell.firstLineShift : 0));
      if (cell.map === null) {
        try { cell.map = cell.mapJson ? new SourceMap(JSON.parse(cell.mapJson) as ConstructorParameters<typeof SourceMap>[0]) : undefined; } catch { cell.map = undefined; }
      }
      const e = cell.map?.findEntry(line0, col0);
      if (!e || !("originalLine" in e)) return `${label}:${line0 + 1}:${col0 + 1}`;
      return `${label}:${e.originalLine + 1}:${e.originalColumn + 1}`;
    });
  }
}

/** Turns anything a cell threw into the error content of the protocol, keeping only user frames. */
export function errorContent(thrown: unknown, sources: CellSources): ErrorContent {
  if (thrown instanceof Error) {
    const ename = thrown.name || thrown.constructor?.name || "Error";
    const evalue = thrown.message;
    // An expected failure of pipebook's (a bad parameter, a refused target) is a sentence about
    // the user's code: only the cell's own frames are shown, not the engine's.
    const expected = isExpectedFailure(thrown);
    const frames = (thrown.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l))
      .filter((l) => !/\(?node:(internal|vm|async_hooks)/.test(l) && !l.includes("/kernel/dist/") && !sources.isWrapperFrame(l))
      .filter((l) => !expected || /In\[\d+\]/.test(l))
      .map((l) => sources.mapFrame(l));
    return { ename, evalue, traceback: [`\x1b[31m${ename}\x1b[0m: ${evalue}`, ...frames] };
  }
  const evalue = typeof thrown === "string" ? thrown : safeString(thrown);
  return { ename: "Uncaught", evalue, traceback: [`\x1b[31mUncaught\x1b[0m ${evalue}`] };
}

function safeString(v: unknown): string {
  try { return typeof v === "object" ? JSON.stringify(v) ?? String(v) : String(v); } catch { return String(v); }
}

/** The error a cell ends with when the user interrupts it. */
export class KernelInterrupt extends Error {
  constructor() { super("Interrupted by the user (kernel state is kept)"); this.name = "KeyboardInterrupt"; }
}
