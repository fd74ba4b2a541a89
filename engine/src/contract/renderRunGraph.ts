import { layoutRunGraph, type PlacedNode, type RunGraphLayout } from "./layoutRunGraph.js";
import { dataNodeId, runGraphShape } from "./runGraphShape.js";
import type { DataNodeView, RunView, StepView } from "./runView.js";
import { STATUS_TABLE } from "./statusTable.js";
import { detailLine, fitText, statusLine, untranslated, type Translate } from "./stepText.js";
import type { SvgNode } from "./svgTree.js";

export interface RenderRunGraphOptions {
  /** The view's layout when the caller keeps one (the lab lays out only when the shape changes). */
  readonly layout?: RunGraphLayout;
  readonly translate?: Translate;
  /**
   * Id of the arrow-head marker; ids are global in an HTML page, and one page may show several
   * graphs. Default: derived from the run id.
   */
  readonly markerId?: string;
  /**
   * Where a data node links to (its dataset's profile), on a surface that can open one; the
   * node is then wrapped in an SVG link. Without it (the notebook's fallback) nodes link nowhere
   * and their tooltip names the command that shows the profile.
   */
  readonly dataLink?: (data: DataNodeView) => string | undefined;
}

const EDGE_COLOUR = "#80868b";
const NAME_COLOUR = "#202124";
const DETAIL_COLOUR = "#5f6368";
/** Data is not a step: no status, so one colour of its own, apart from the status table's. */
const DATA_COLOUR = "#3f6aa6";
const DATA_TINT = "#eef3fa";

/**
 * The one drawing of a run graph, shared by the notebook's HTML fallback, the lab renderer and
 * the studio page: boxes at the layout's places, each with a status stripe, the step's name,
 * its status symbol, word and duration, and a detail line; data edges as arrows. Colours are
 * presentation attributes from the status table, so a surface with themes (the lab) can restyle
 * backgrounds with CSS while a plain viewer shows the same colours.
 */
export function renderRunGraph(view: RunView, options: RenderRunGraphOptions = {}): SvgNode {
  const t = options.translate ?? untranslated;
  const layout = options.layout ?? layoutRunGraph(runGraphShape(view));
  const markerId = options.markerId ?? `pb-arrow-${view.runId.replace(/[^\w-]/g, "_")}`;
  const marker: SvgNode = {
    tag: "marker",
    attrs: { id: markerId, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
    children: [{ tag: "path", attrs: { d: "M 0 0 L 10 5 L 0 10 z", class: "pb-edge-arrow", fill: EDGE_COLOUR } }],
  };
  const edges = layout.edges.filter((e) => e.points.length > 0).map((edge): SvgNode => ({
    tag: "path",
    attrs: {
      d: edge.points.map((p, i) => `${i === 0 ? "M" : "L"} ${round(p.x)} ${round(p.y)}`).join(" "),
      class: "pb-edge", fill: "none", stroke: EDGE_COLOUR, "stroke-width": 1.5, "marker-end": `url(#${markerId})`, "data-from": edge.from, "data-to": edge.to,
    },
    children: [{ tag: "title", attrs: {}, text: `${edge.from} → ${edge.to}: ${edge.data.join(", ")}` }],
  }));
  const nodes = view.steps.flatMap((step) => {
    const placed = layout.nodes.get(step.name);
    return placed === undefined ? [] : [renderStepNode(step, placed, t)];
  });
  const dataNodes = (view.data ?? []).flatMap((d) => {
    const placed = layout.nodes.get(dataNodeId(d.id));
    if (placed === undefined) return [];
    const node = renderDataNode(d, placed, t);
    const href = options.dataLink?.(d);
    return [href === undefined ? node : { tag: "a", attrs: { href, class: "pb-data-link" }, children: [node] }];
  });
  return {
    tag: "svg",
    attrs: {
      xmlns: "http://www.w3.org/2000/svg", width: layout.width, height: layout.height, viewBox: `0 0 ${layout.width} ${layout.height}`,
      "font-family": "Helvetica, Arial, sans-serif", role: "group", "aria-label": t("Pipeline graph of run %1", view.runId),
    },
    children: [{ tag: "defs", attrs: {}, children: [marker] }, ...edges, ...nodes, ...dataNodes],
  };
}

/** One step's box; the lab repaints a node in place with it when only the status changed. */
export function renderStepNode(step: StepView, placed: PlacedNode, t: Translate = untranslated): SvgNode {
  const style = STATUS_TABLE[step.status];
  const status = statusLine(step, t);
  // Not started (yet, or ever): a dashed outline, so the difference shows without colour too.
  const dash: Record<string, string> = step.status === "queued" || step.status === "skipped" ? { "stroke-dasharray": "4 3" } : {};
  const text = (cls: string, y: number, size: number, fill: string, value: string, bold = false): SvgNode => ({
    tag: "text", attrs: { class: cls, x: 16, y, "font-size": size, fill, ...(bold ? { "font-weight": 600 } : {}) }, text: value,
  });
  return {
    tag: "g",
    attrs: { class: `pb-node pb-status-${step.status}`, transform: `translate(${round(placed.x)}, ${round(placed.y)})`, "data-step": step.name, "data-status": step.status },
    children: [
      { tag: "title", attrs: {}, text: [`${step.name} — ${status}`, step.error, step.why].filter(Boolean).join("\n") },
      { tag: "rect", attrs: { class: "pb-node-box", width: placed.width, height: placed.height, rx: 6, fill: style.tint, stroke: style.colour, "stroke-width": 1.5, ...dash } },
      { tag: "rect", attrs: { class: "pb-node-stripe", width: 6, height: placed.height, rx: 3, fill: style.colour } },
      text("pb-node-name", 19, 13, NAME_COLOUR, fitText(step.name, 21), true),
      text("pb-node-status", 36, 12, style.colour, `${style.symbol} ${status}`),
      text("pb-node-detail", 51, 11, DETAIL_COLOUR, fitText(detailLine(step, t), 26)),
    ],
  };
}

/** One data node: a rounded box in the data colour with its name and its version or place. */
export function renderDataNode(d: DataNodeView, placed: PlacedNode, t: Translate = untranslated): SvgNode {
  const kind = d.kind === "dataset" ? t("dataset") : d.kind === "datastore" ? t("datastore input") : t("registered output");
  const tooltip = [
    `${kind} ${d.name}${d.dataset ? ` ${t("version %1", d.dataset.version)}` : ""} — ${d.datastore !== undefined ? t("%1 on datastore %2", d.detail, d.datastore) : d.detail}`,
    d.readBy.length > 0 ? t("read by %1", d.readBy.join(", ")) : undefined,
    d.writtenBy !== undefined ? t("written by %1", d.writtenBy) : undefined,
    d.dataset ? t("profile: pipebook datasets %1 --version %2 --profile", d.dataset.name, d.dataset.version) : undefined,
  ].filter((line): line is string => line !== undefined);
  const text = (cls: string, y: number, size: number, fill: string, value: string, bold = false): SvgNode => ({
    tag: "text", attrs: { class: cls, x: 14, y, "font-size": size, fill, ...(bold ? { "font-weight": 600 } : {}) }, text: value,
  });
  return {
    tag: "g",
    attrs: { class: `pb-data pb-data-${d.kind}`, transform: `translate(${round(placed.x)}, ${round(placed.y)})`, "data-data": d.id, "data-kind": d.kind },
    children: [
      { tag: "title", attrs: {}, text: tooltip.join("\n") },
      { tag: "rect", attrs: { class: "pb-data-box", width: placed.width, height: placed.height, rx: 14, fill: DATA_TINT, stroke: DATA_COLOUR, "stroke-width": 1.2 } },
      text("pb-data-name", 17, 12, NAME_COLOUR, fitText(d.name, 23), true),
      text("pb-data-detail", 32, 11, DATA_COLOUR, fitText(d.detail, 27)),
    ],
  };
}

/** Layout coordinates are fractional; one decimal keeps the markup short and stable. */
function round(n: number): number {
  return Math.round(n * 10) / 10;
}
