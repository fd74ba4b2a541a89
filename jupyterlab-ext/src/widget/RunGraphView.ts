import type { TranslationBundle } from "@jupyterlab/translation";
import { Widget } from "@lumino/widgets";
import type { StepView } from "pipebook/contract";
import type { RunModel } from "../model/RunModel.js";
import { detailLine, fitText, statusLabel, statusLine } from "../model/stepLabels.js";
import { html, svg } from "./svg.js";

interface NodeElements {
  readonly group: SVGGElement;
  readonly title: SVGTitleElement;
  readonly status: SVGTextElement;
  readonly detail: SVGTextElement;
}

/**
 * The laid-out DAG as SVG. Nodes are created when the graph's shape changes and otherwise only
 * have their class and texts replaced, so a status update never moves anything on screen.
 */
export class RunGraphView extends Widget {
  private readonly svgRoot: SVGSVGElement;
  private readonly note = html("div", "pb-Muted pb-RunGraph-note");
  private readonly nodes = new Map<string, NodeElements>();
  private readonly markerId = `pb-arrow-${Math.random().toString(36).slice(2, 10)}`;

  constructor(private readonly model: RunModel, private readonly trans: TranslationBundle) {
    super();
    this.addClass("pb-RunGraph");
    this.svgRoot = svg("svg", { role: "group" });
    this.svgRoot.setAttribute("aria-label", trans.__("Pipeline graph"));
    this.node.append(this.svgRoot, this.note);
    this.note.hidden = true;
    model.changed.connect((_, change) => (change.relayout ? this.rebuild() : this.refresh()), this);
    model.selectionChanged.connect(() => this.refresh(), this);
    this.rebuild();
  }

  private rebuild(): void {
    const layout = this.model.layout;
    const run = this.model.run;
    this.svgRoot.replaceChildren();
    this.nodes.clear();
    const dangling = this.model.layoutInput?.dangling ?? [];
    this.note.hidden = dangling.length === 0;
    this.note.textContent = dangling.length === 0 ? "" : this.trans.__("Not drawn (step not in this run): %1", dangling.map((e) => `${e.from} → ${e.to} (${e.data})`).join(", "));
    if (layout === undefined || run === undefined) {
      return;
    }
    this.svgRoot.setAttribute("viewBox", `0 0 ${layout.width} ${layout.height}`);
    this.svgRoot.setAttribute("width", String(layout.width));
    this.svgRoot.setAttribute("height", String(layout.height));
    const defs = svg("defs");
    const marker = svg("marker", { id: this.markerId, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
    marker.appendChild(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "pb-edge-arrow" }));
    defs.appendChild(marker);
    this.svgRoot.appendChild(defs);
    for (const edge of layout.edges) {
      const [first, ...rest] = edge.points;
      if (first === undefined) {
        continue;
      }
      const d = `M ${first.x} ${first.y} ` + rest.map((p) => `L ${p.x} ${p.y}`).join(" ");
      const path = svg("path", { d, class: "pb-edge", "marker-end": `url(#${this.markerId})`, "data-from": edge.from, "data-to": edge.to });
      const title = svg("title");
      title.textContent = `${edge.from} → ${edge.to}: ${edge.data.join(", ")}`;
      path.appendChild(title);
      this.svgRoot.appendChild(path);
    }
    for (const step of run.steps) {
      const placed = layout.nodes.get(step.name);
      if (placed === undefined) {
        continue;
      }
      const group = svg("g", { class: "pb-node", transform: `translate(${placed.x}, ${placed.y})`, tabindex: 0, role: "button", "data-step": step.name });
      const title = svg("title");
      group.appendChild(title);
      group.appendChild(svg("rect", { class: "pb-node-box", width: placed.width, height: placed.height, rx: 6 }));
      group.appendChild(svg("rect", { class: "pb-node-stripe", width: 6, height: placed.height, rx: 3 }));
      const name = svg("text", { class: "pb-node-name", x: 16, y: 19 });
      name.textContent = fitText(step.name, 21);
      const status = svg("text", { class: "pb-node-status", x: 16, y: 36 });
      const detail = svg("text", { class: "pb-node-detail", x: 16, y: 51 });
      group.append(name, status, detail);
      group.addEventListener("click", () => this.model.select(step.name));
      group.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          this.model.select(step.name);
        }
      });
      this.svgRoot.appendChild(group);
      this.nodes.set(step.name, { group, title, status, detail });
    }
    this.refresh();
  }

  private refresh(): void {
    const run = this.model.run;
    if (run === undefined) {
      return;
    }
    for (const step of run.steps) {
      const elements = this.nodes.get(step.name);
      if (elements !== undefined) {
        this.paint(step, elements);
      }
    }
  }

  private paint(step: StepView, elements: NodeElements): void {
    const selected = this.model.selected === step.name;
    elements.group.setAttribute("class", `pb-node pb-status-${step.status}${selected ? " pb-selected" : ""}`);
    elements.group.setAttribute("data-status", step.status);
    elements.group.setAttribute("aria-pressed", String(selected));
    elements.group.setAttribute("aria-label", `${step.name}: ${statusLabel(step.status, this.trans)}`);
    elements.title.textContent = [`${step.name} — ${statusLine(step, this.trans)}`, step.error, step.why].filter(Boolean).join("\n");
    elements.status.textContent = statusLine(step, this.trans);
    elements.detail.textContent = fitText(detailLine(step, this.trans), 26);
  }

  override dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.nodes.clear();
    super.dispose();
  }
}

/** A one-line placeholder used while no valid view has arrived. */
export function messageNode(text: string): HTMLElement {
  return html("div", "pb-RunMessage", text);
}
