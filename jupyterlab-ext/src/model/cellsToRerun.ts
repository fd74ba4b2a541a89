/** What "Rerun changed steps" needs to know about a notebook cell. */
export interface CellState {
  readonly id: string;
  readonly type: "code" | "markdown" | "raw";
  readonly source: string;
  /** The cell's outputs hold a pipebook run view: it submits a pipeline. */
  readonly hasRunOutput: boolean;
}

/**
 * Cells to execute for "Rerun changed steps": every code cell whose source differs from what the
 * kernel last executed for it (never executed counts as changed: the kernel does not know its
 * definitions), then every submitting cell after the first changed cell, so the pipeline is
 * submitted again with the new step definitions. The engine's reuse keys then decide which steps
 * run; this only spares re-executing cells that cannot have changed anything.
 * Returns cell ids in notebook order. With nothing changed, it resubmits (everything is reused).
 */
export function cellsToRerun(cells: readonly CellState[], executedSources: ReadonlyMap<string, string>): string[] {
  const code = cells.filter((cell) => cell.type === "code" && cell.source.trim() !== "");
  const firstChanged = code.findIndex((cell) => executedSources.get(cell.id) !== cell.source);
  const from = firstChanged === -1 ? 0 : firstChanged;
  const chosen = code.filter((cell, index) => executedSources.get(cell.id) !== cell.source || (cell.hasRunOutput && index >= from));
  return chosen.map((cell) => cell.id);
}
