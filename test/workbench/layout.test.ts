import { describe, expect, it } from "vitest";
import { layoutRunGraph, NODE_HEIGHT, NODE_WIDTH, runGraphShape } from "pipebook/contract";
import { finishedRunWithDetails, irisRun } from "./fixtures/runViews.js";

describe("graph shape", () => {
  it("depends on the graph's structure only, not on statuses or details", () => {
    const queued = runGraphShape(irisRun("r1", "queued", {}));
    const finished = runGraphShape(finishedRunWithDetails());
    expect(finished.key).toBe(queued.key);
    expect(finished.nodes).toEqual(queued.nodes);
    expect(queued.nodes.every((n) => n.width === NODE_WIDTH && n.height === NODE_HEIGHT)).toBe(true);
  });

  it("merges several data between one pair into one edge and reports edges to unknown steps", () => {
    const run = irisRun("r1", "queued", {});
    const input = runGraphShape({
      ...run,
      edges: [...run.edges, { from: "prep", to: "train", data: "stats" }, { from: "ghost", to: "train", data: "x" }],
    });
    expect(input.edges.find((e) => e.from === "prep" && e.to === "train")?.data).toEqual(["prepped", "stats"]);
    expect(input.edges).toHaveLength(4);
    expect(input.dangling).toEqual([{ from: "ghost", to: "train", data: "x" }]);
    expect(input.key).not.toBe(runGraphShape(run).key);
  });
});

describe("layoutRunGraph (dagre)", () => {
  const layout = layoutRunGraph(runGraphShape(irisRun("r1", "queued", {})));
  const node = (id: string) => {
    const placed = layout.nodes.get(id);
    if (placed === undefined) throw new Error(`no node ${id}`);
    return placed;
  };

  it("puts every producer above its consumers, top to bottom", () => {
    expect(node("prep").y).toBeLessThan(node("train").y);
    expect(node("prep").y).toBeLessThan(node("profile").y);
    expect(node("train").y).toBeLessThan(node("evaluate").y);
    // train and profile are independent: the same rank, side by side.
    expect(node("train").y).toBe(node("profile").y);
  });

  it("never overlaps two nodes and keeps everything inside the drawing", () => {
    const all = [...layout.nodes.values()];
    for (const a of all) {
      expect(a.x).toBeGreaterThanOrEqual(0);
      expect(a.y).toBeGreaterThanOrEqual(0);
      expect(a.x + a.width).toBeLessThanOrEqual(layout.width);
      expect(a.y + a.height).toBeLessThanOrEqual(layout.height);
      for (const b of all) {
        if (a === b) continue;
        const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
        expect(apart, `${a.id} overlaps ${b.id}`).toBe(true);
      }
    }
  });

  it("keeps every edge bend inside the drawing", () => {
    for (const edge of layout.edges) {
      for (const p of edge.points) {
        expect(p.x).toBeGreaterThanOrEqual(0);
        expect(p.x).toBeLessThanOrEqual(layout.width);
        expect(p.y).toBeLessThanOrEqual(layout.height);
      }
    }
  });

  it("routes every edge from its producer's border to its consumer's border, downwards", () => {
    const onBorder = (p: { x: number; y: number }, id: string): boolean => {
      const n = node(id);
      const inside = p.x >= n.x - 1 && p.x <= n.x + n.width + 1 && p.y >= n.y - 1 && p.y <= n.y + n.height + 1;
      const nearEdge = Math.min(Math.abs(p.x - n.x), Math.abs(p.x - n.x - n.width), Math.abs(p.y - n.y), Math.abs(p.y - n.y - n.height)) <= 1;
      return inside && nearEdge;
    };
    expect(layout.edges).toHaveLength(4);
    for (const edge of layout.edges) {
      expect(edge.points.length).toBeGreaterThanOrEqual(2);
      const first = edge.points[0]!;
      const last = edge.points[edge.points.length - 1]!;
      expect(onBorder(first, edge.from), `${edge.from}→${edge.to} starts on ${edge.from}`).toBe(true);
      expect(onBorder(last, edge.to), `${edge.from}→${edge.to} ends on ${edge.to}`).toBe(true);
      expect(last.y).toBeGreaterThan(first.y);
    }
  });

  it("fits a four-step pipeline into a notebook column and gives the same layout for the same graph", () => {
    expect(layout.width).toBeLessThan(700);
    const again = layoutRunGraph(runGraphShape(finishedRunWithDetails()));
    expect([...again.nodes.values()]).toEqual([...layout.nodes.values()]);
  });
});

describe("layoutRunGraph on a large pipeline", () => {
  it("lays out 120 steps (fan-out of 100, fan-in) without overlaps", () => {
    const base = irisRun("big", "queued", {});
    const template = base.steps[0]!;
    const shards = Array.from({ length: 100 }, (_, i) => `shard-${String(i).padStart(3, "0")}`);
    const names = ["split", ...shards, "merge", ...Array.from({ length: 18 }, (_, i) => `report-${i}`)];
    const run = {
      ...base,
      steps: names.map((name) => ({ ...template, name, stepRunId: name })),
      edges: [
        ...shards.map((s) => ({ from: "split", to: s, data: `part-${s}` })),
        ...shards.map((s) => ({ from: s, to: "merge", data: `out-${s}` })),
        ...names.slice(102).map((r) => ({ from: "merge", to: r, data: "merged" })),
      ],
    };
    const big = layoutRunGraph(runGraphShape(run));
    expect(big.nodes.size).toBe(120);
    const all = [...big.nodes.values()];
    const rows = new Map<number, typeof all>();
    for (const n of all) rows.set(n.y, [...(rows.get(n.y) ?? []), n]);
    for (const row of rows.values()) {
      const sorted = [...row].sort((a, b) => a.x - b.x);
      for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.x).toBeGreaterThanOrEqual(sorted[i - 1]!.x + NODE_WIDTH);
    }
    expect(big.nodes.get("split")!.y).toBeLessThan(big.nodes.get("shard-000")!.y);
    expect(big.nodes.get("merge")!.y).toBeGreaterThan(big.nodes.get("shard-099")!.y);
  });
});
