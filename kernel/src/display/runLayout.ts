import type { RunView } from "pipebook/contract";

export interface PlacedStep { readonly name: string; readonly layer: number; readonly row: number }

/**
 * Places steps left to right by longest path from a source (so every edge points right), and
 * top to bottom within a layer in the run's own step order. Data edges are the only edges.
 */
export function layoutRun(view: Pick<RunView, "steps" | "edges">): { placed: PlacedStep[]; layers: number; rows: number } {
  const layer = new Map<string, number>(view.steps.map((s) => [s.name, 0]));
  // Longest path by relaxation; the engine guarantees no cycles, the bound guards a broken view.
  for (let pass = 0; pass < view.steps.length; pass++) {
    let changed = false;
    for (const e of view.edges) {
      const next = (layer.get(e.from) ?? 0) + 1;
      if (layer.has(e.to) && next > (layer.get(e.to) ?? 0)) { layer.set(e.to, next); changed = true; }
    }
    if (!changed) break;
  }
  const rowsPerLayer = new Map<number, number>();
  const placed = view.steps.map((s) => {
    const l = layer.get(s.name) ?? 0;
    const row = rowsPerLayer.get(l) ?? 0;
    rowsPerLayer.set(l, row + 1);
    return { name: s.name, layer: l, row };
  });
  return { placed, layers: Math.max(0, ...placed.map((p) => p.layer)) + 1, rows: Math.max(1, ...rowsPerLayer.values()) };
}
