import { NotebookActions, type Notebook } from "@jupyterlab/notebook";
import type { Cell, ICodeCellModel } from "@jupyterlab/cells";
import { RUN_MIME_TYPE } from "pipebook/contract";
import type { CellState } from "../model/cellsToRerun.js";

/**
 * Remembers, per notebook and cell, the source the kernel last executed successfully, so that
 * "Rerun changed steps" can tell edited cells apart. A kernel restart forgets everything: the
 * kernel no longer holds any definition.
 */
export class ExecutionTracker {
  private readonly executed = new WeakMap<Notebook, Map<string, string>>();

  constructor() {
    NotebookActions.executed.connect((_, { notebook, cell, success }) => {
      if (success) {
        this.record(notebook, cell);
      }
    });
  }

  record(notebook: Notebook, cell: Cell): void {
    let sources = this.executed.get(notebook);
    if (sources === undefined) {
      sources = new Map();
      this.executed.set(notebook, sources);
    }
    sources.set(cell.model.id, cell.model.sharedModel.getSource());
  }

  forget(notebook: Notebook): void {
    this.executed.delete(notebook);
  }

  sources(notebook: Notebook): ReadonlyMap<string, string> {
    return this.executed.get(notebook) ?? new Map();
  }

  static cellStates(notebook: Notebook): CellState[] {
    return notebook.widgets.map((cell) => ({
      id: cell.model.id,
      type: cell.model.type === "code" ? "code" : cell.model.type === "markdown" ? "markdown" : "raw",
      source: cell.model.sharedModel.getSource(),
      hasRunOutput: cellRunIds(cell).length > 0,
    }));
  }
}

/** Run ids displayed in a cell's outputs (a submitting cell shows one run view per submit). */
export function cellRunIds(cell: Cell): string[] {
  if (cell.model.type !== "code") {
    return [];
  }
  const outputs = (cell.model as ICodeCellModel).outputs;
  const ids: string[] = [];
  for (let i = 0; i < outputs.length; i++) {
    const data = outputs.get(i).data[RUN_MIME_TYPE];
    const value = typeof data === "string" ? safeParse(data) : data;
    if (typeof value === "object" && value !== null && typeof (value as { runId?: unknown }).runId === "string") {
      ids.push((value as { runId: string }).runId);
    }
  }
  return ids;
}

/** The run shown last in the notebook (the one "Publish" promotes). */
export function lastRunId(notebook: Notebook): string | undefined {
  for (let i = notebook.widgets.length - 1; i >= 0; i--) {
    const cell = notebook.widgets[i];
    const ids = cell === undefined ? [] : cellRunIds(cell);
    const last = ids[ids.length - 1];
    if (last !== undefined) {
      return last;
    }
  }
  return undefined;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
