import type { TranslationBundle } from "@jupyterlab/translation";
import { Widget } from "@lumino/widgets";
import { renderRunGraph, renderStepNode, statusWord, svgToDom, type Translate } from "pipebook/contract";
import type { RunModel } from "../model/RunModel.js";
import { html, svg } from "./svg.js";

/**
 * The run graph as the contract draws it (the same layout and drawing as the notebook's HTML
 * fallback and the studio page), made interactive: a node is a button that opens its step.
 * Nodes are created when the graph's shape changes; a status update redraws each node's
 * contents inside its existing group, so nothing moves and keyboard focus stays put.
 */
export class RunGraphView extends Widget {
  private svgRoot: SVGSVGElement = svg("svg");
  private readonly note = html("div", "pb-Muted pb-RunGraph-note");
  private readonly groups = new Map<string, SVGGElement>();
  /** What each node shows now (its drawing as JSON), to skip redrawing an unchanged node. */
  private readonly drawn = new Map<string, string>();
  private readonly markerId = `pb-arrow-${Math.random().toString(36).slice(2, 10)}`;
  private readonly t: Translate;

  constructor(private readonly model: RunModel, private readonly trans: TranslationBundle) {
    super();
    this.t = (text, ...args) => trans.__(text, ...args);
    this.addClass("pb-RunGraph");
    this.node.append(this.svgRoot, this.note);
    this.note.hidden = true;
    model.changed.connect((_, change) => (change.relayout ? this.rebuild() : this.refresh()), this);
    model.selectionChanged.connect(() => this.refresh(), this);
    this.rebuild();
  }

  private rebuild(): void {
    const layout = this.model.layout;
    const run = this.model.run;
    this.groups.clear();
    this.drawn.clear();
    const dangling = this.model.shape?.dangling ?? [];
    this.note.hidden = dangling.length === 0;
    this.note.textContent = dangling.length === 0 ? "" : this.trans.__("Not drawn (step not in this run): %1", dangling.map((e) => `${e.from} → ${e.to} (${e.data})`).join(", "));
    const root = layout === undefined || run === undefined
      ? svg("svg")
      : (svgToDom(renderRunGraph(run, { layout, translate: this.t, markerId: this.markerId }), document) as SVGSVGElement);
    this.svgRoot.replaceWith(root);
    this.svgRoot = root;
    for (const group of Array.from(root.querySelectorAll<SVGGElement>("g[data-step]"))) {
      const name = group.getAttribute("data-step") ?? "";
      group.setAttribute("tabindex", "0");
      group.setAttribute("role", "button");
      group.addEventListener("click", () => this.model.select(name));
      group.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          this.model.select(name);
        }
      });
      this.groups.set(name, group);
    }
    this.refresh();
  }

  private refresh(): void {
    const run = this.model.run;
    const layout = this.model.layout;
    if (run === undefined || layout === undefined) {
      return;
    }
    for (const step of run.steps) {
      const group = this.groups.get(step.name);
      const placed = layout.nodes.get(step.name);
      if (group === undefined || placed === undefined) {
        continue;
      }
      const drawn = renderStepNode(step, placed, this.t);
      const signature = JSON.stringify(drawn);
      if (this.drawn.get(step.name) !== signature) {
        this.drawn.set(step.name, signature);
        group.replaceChildren(...(drawn.children ?? []).map((child) => svgToDom(child, document)));
        // After the contents, so whoever watches data-status sees the node complete.
        group.setAttribute("data-status", step.status);
      }
      const selected = this.model.selected === step.name;
      group.setAttribute("class", `${String(drawn.attrs["class"])}${selected ? " pb-selected" : ""}`);
      group.setAttribute("aria-pressed", String(selected));
      group.setAttribute("aria-label", `${step.name}: ${statusWord(step.status, this.t)}`);
    }
  }

  override dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.groups.clear();
    super.dispose();
  }
}
