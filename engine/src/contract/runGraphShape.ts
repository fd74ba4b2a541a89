import type { RunView } from "./runView.js";

/** Fixed node size: status text changes must never change a node's box (no layout jumps). */
export const NODE_WIDTH = 184;
export const NODE_HEIGHT = 58;
/** Data nodes (datasets, datastore inputs, registered outputs) are as wide as steps and lower. */
export const DATA_NODE_HEIGHT = 40;

/** A data node's id in the shape and layout: `data:` cannot start a step name, so the two never meet. */
export function dataNodeId(id: string): string {
  return `data:${id}`;
}

export interface ShapeNode {
  readonly id: string;
  readonly width: number;
  readonly height: number;
}

export interface ShapeEdge {
  readonly from: string;
  readonly to: string;
  /** Data names that create this dependency, sorted; several data between one pair make one edge. */
  readonly data: readonly string[];
}

export interface GraphShape {
  /** One node per step, in the engine's order. */
  readonly nodes: readonly ShapeNode[];
  readonly edges: readonly ShapeEdge[];
  /**
   * Identity of the graph's shape. Two views with the same key get the same layout, so a
   * status update repaints nodes in place and only a structural change lays out again.
   */
  readonly key: string;
  /** Edges naming a step that is not in the view; drawn nowhere, reported by the surface. */
  readonly dangling: readonly { readonly from: string; readonly to: string; readonly data: string }[];
}

/**
 * What a layout depends on: the graph's structure only (step names in the engine's order,
 * edges), never statuses, durations or metrics.
 */
export function runGraphShape(run: Pick<RunView, "steps" | "edges" | "data">): GraphShape {
  const names = new Set(run.steps.map((step) => step.name));
  const data = run.data ?? [];
  const nodes = [
    ...run.steps.map((step) => ({ id: step.name, width: NODE_WIDTH, height: NODE_HEIGHT })),
    ...data.map((d) => ({ id: dataNodeId(d.id), width: NODE_WIDTH, height: DATA_NODE_HEIGHT })),
  ];
  for (const d of data) names.add(dataNodeId(d.id));
  // A data node's arrows: into each step that reads it, from the step that registered it.
  const dataEdges = data.flatMap((d) => [
    ...d.readBy.map((step) => ({ from: dataNodeId(d.id), to: step, data: d.id })),
    ...(d.writtenBy === undefined ? [] : [{ from: d.writtenBy, to: dataNodeId(d.id), data: d.id }]),
  ]);
  const merged = new Map<string, { from: string; to: string; data: Set<string> }>();
  const dangling: { from: string; to: string; data: string }[] = [];
  for (const edge of [...run.edges, ...dataEdges]) {
    if (!names.has(edge.from) || !names.has(edge.to)) {
      dangling.push({ from: edge.from, to: edge.to, data: edge.data });
      continue;
    }
    const id = JSON.stringify([edge.from, edge.to]);
    const entry = merged.get(id) ?? { from: edge.from, to: edge.to, data: new Set<string>() };
    entry.data.add(edge.data);
    merged.set(id, entry);
  }
  const edges = [...merged.values()]
    .map((entry) => ({ from: entry.from, to: entry.to, data: [...entry.data].sort() }))
    .sort((a, b) => (a.from === b.from ? compare(a.to, b.to) : compare(a.from, b.from)));
  const key = JSON.stringify([nodes.map((node) => node.id), edges.map((edge) => [edge.from, edge.to, edge.data])]);
  return { nodes, edges, key, dangling };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
