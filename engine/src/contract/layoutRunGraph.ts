import dagre from "@dagrejs/dagre";
import type { GraphShape } from "./runGraphShape.js";

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface PlacedNode {
  readonly id: string;
  /** Top-left corner. */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface PlacedEdge {
  readonly from: string;
  readonly to: string;
  readonly data: readonly string[];
  readonly points: readonly Point[];
}

export interface RunGraphLayout {
  readonly key: string;
  readonly width: number;
  readonly height: number;
  readonly nodes: ReadonlyMap<string, PlacedNode>;
  readonly edges: readonly PlacedEdge[];
}

const MARGIN = 12;

/**
 * The one layout of a run graph, for every surface. Top to bottom and layered (dagre, Sugiyama
 * style): a notebook column is narrow and tall, so depth goes down the page and only fan-out
 * widens the graph; dagre orders each layer to cut crossings and routes an edge that skips a
 * layer around the nodes between. Pure JavaScript, no DOM, so the kernel (Node), the lab and the
 * studio page (browsers) all run it and get the same coordinates.
 */
export function layoutRunGraph(shape: GraphShape): RunGraphLayout {
  const graph = new dagre.graphlib.Graph({ multigraph: false });
  graph.setGraph({ rankdir: "TB", nodesep: 28, ranksep: 38, marginx: MARGIN, marginy: MARGIN });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of shape.nodes) {
    graph.setNode(node.id, { width: node.width, height: node.height });
  }
  for (const edge of shape.edges) {
    graph.setEdge(edge.from, edge.to, {});
  }
  dagre.layout(graph);
  const nodes = new Map<string, PlacedNode>();
  for (const node of shape.nodes) {
    const placed = graph.node(node.id) as { x: number; y: number };
    nodes.set(node.id, { ...node, x: placed.x - node.width / 2, y: placed.y - node.height / 2 });
  }
  const edges = shape.edges.map((edge) => {
    const placed = graph.edge(edge.from, edge.to) as { points?: Point[] } | undefined;
    return { from: edge.from, to: edge.to, data: edge.data, points: (placed?.points ?? []).map((p) => ({ x: p.x, y: p.y })) };
  });
  // The drawing's size covers nodes and edge bends (an edge skipping a rank bends around the
  // nodes between, sometimes outside the nodes' bounding box).
  const xs = [...[...nodes.values()].map((n) => n.x + n.width), ...edges.flatMap((e) => e.points.map((p) => p.x))];
  const ys = [...[...nodes.values()].map((n) => n.y + n.height), ...edges.flatMap((e) => e.points.map((p) => p.y))];
  const width = Math.max(...xs, 0) + MARGIN;
  const height = Math.max(...ys, 0) + MARGIN;
  return { key: shape.key, width: Math.ceil(width), height: Math.ceil(height), nodes, edges };
}
