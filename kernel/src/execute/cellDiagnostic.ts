/** A TypeScript diagnostic placed in the cell the user wrote (1-based line and column). */
export interface CellDiagnostic {
  readonly line: number;
  readonly column: number;
  readonly code: number;
  readonly message: string;
  readonly category: "error" | "warning" | "suggestion" | "message";
  /** The source line it points into, for the caret display. */
  readonly sourceLine: string;
}

/** Type-checking policy: `refuse` does not run a cell with type errors, `report` runs it and prints them. */
export type TypecheckMode = "refuse" | "report" | "off";

export function isTypecheckMode(s: string): s is TypecheckMode {
  return s === "refuse" || s === "report" || s === "off";
}

export function formatDiagnostics(cellLabel: string, diags: readonly CellDiagnostic[]): string[] {
  const lines: string[] = [];
  for (const d of diags) {
    lines.push(`\x1b[1m${cellLabel}:${d.line}:${d.column}\x1b[0m - \x1b[31m${d.category}\x1b[0m TS${d.code}: ${d.message}`);
    if (d.sourceLine.length > 0) {
      lines.push(`  ${d.sourceLine}`);
      lines.push(`  ${" ".repeat(Math.max(0, d.column - 1))}\x1b[31m^\x1b[0m`);
    }
  }
  return lines;
}
