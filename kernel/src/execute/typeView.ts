import type { Declaration } from "./declarations.js";

/**
 * The type view of a cell: a virtual `.mts` module that the TypeScript language service checks.
 * Its first line (the header) brings in every name that earlier cells declared and this cell does
 * not declare again; its last line exports the cell's own names for later cells. The header is
 * one line, so a diagnostic's line in the view is the cell line plus one.
 */
export interface CellRecord {
  readonly index: number;
  readonly file: string;
  readonly declarations: readonly Declaration[];
}

export const HEADER_LINES = 1;

export function cellFileName(dir: string, index: number): string {
  return `${dir}/__pipebook_cell_${index}.mts`;
}

/** Latest declaring cell per name, in declaration order. */
export class Scope {
  readonly #latest = new Map<string, { cell: number; mutable: boolean }>();

  add(cell: CellRecord): void {
    for (const d of cell.declarations) this.#latest.set(d.name, { cell: cell.index, mutable: d.mutable });
  }

  header(ownNames: ReadonlySet<string>): string {
    const imports = new Map<number, string[]>();
    const lets: string[] = [];
    for (const [name, at] of this.#latest) {
      if (ownNames.has(name)) continue;
      const spec = `./__pipebook_cell_${at.cell}.mjs`;
      if (at.mutable) lets.push(`declare let ${name}: typeof import(${JSON.stringify(spec)}).${name};`);
      else imports.set(at.cell, [...(imports.get(at.cell) ?? []), name]);
    }
    const parts = [...imports].map(([cell, names]) => `import { ${names.join(", ")} } from "./__pipebook_cell_${cell}.mjs";`);
    return [...parts, ...lets].join(" ");
  }

  names(): string[] { return [...this.#latest.keys()]; }
}

export function viewText(header: string, code: string, own: readonly Declaration[]): string {
  const exports = own.filter((d) => !d.exported).map((d) => d.name);
  return `${header}\n${code}\n;export { ${exports.join(", ")} };\n`;
}
