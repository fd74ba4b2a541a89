import type { ITranslator, TranslationBundle } from "@jupyterlab/translation";
import type { Message } from "@lumino/messaging";
import { Panel, Widget } from "@lumino/widgets";
import { shortRunId } from "pipebook/contract";
import { html } from "../widget/svg.js";
import { RunWidget, TRANSLATION_DOMAIN } from "../widget/RunWidget.js";
import { describeSlots, type AgentSummary } from "../model/summaries.js";
import type { RunsPanelModel } from "./RunsPanelModel.js";

/** Default experiment for runs started from the panel's Run buttons. */
const PANEL_EXPERIMENT = "workbench";

/** How often the lists are read again while the panel is shown (runs started in notebooks appear). */
const REFRESH_MS = 15_000;

/**
 * The left side panel: recent runs, published pipelines and endpoints; a click on a run opens
 * its graph (live while it runs) below the lists.
 */
export class RunsPanel extends Panel {
  private readonly trans: TranslationBundle;
  private readonly lists = new Widget({ node: html("div", "pb-Panel-lists") });
  private readonly status = html("div", "pb-Panel-status");
  private readonly run: RunWidget;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly model: RunsPanelModel, translator: ITranslator) {
    super();
    this.trans = translator.load(TRANSLATION_DOMAIN);
    this.id = "pipebook-runs-panel";
    this.addClass("pb-Panel");
    this.title.caption = this.trans.__("pipebook runs");
    const toolbar = new Widget({ node: html("div", "pb-Panel-toolbar") });
    toolbar.node.appendChild(html("span", "pb-Panel-heading", this.trans.__("pipebook")));
    const refresh = html("button", "pb-Button", this.trans.__("Refresh"));
    refresh.type = "button";
    refresh.addEventListener("click", () => void this.model.refresh());
    toolbar.node.append(refresh, this.status);
    this.run = new RunWidget(translator);
    this.run.hide();
    this.addWidget(toolbar);
    this.addWidget(this.lists);
    this.addWidget(this.run);
    model.changed.connect(() => this.render(), this);
    model.runUpdated.connect((_, view) => {
      this.run.showRun(view);
      this.run.show();
    }, this);
    this.render();
  }

  private render(): void {
    const state = this.model.state;
    switch (state.kind) {
      case "unconfigured":
        this.status.textContent = this.trans.__("No pipebook server: start the workbench with `npm start`, or set the server URL and token in Settings → pipebook.");
        break;
      case "loading":
        this.status.textContent = this.trans.__("Loading…");
        break;
      case "error":
        this.status.textContent = state.message;
        break;
      case "ready":
        this.status.textContent = "";
        break;
    }
    this.status.dataset["state"] = state.kind;
    const node = this.lists.node;
    node.replaceChildren();
    if (state.kind !== "ready") {
      return;
    }
    node.appendChild(this.section(this.trans.__("Recent runs"), this.model.runs.map((run) => {
      const item = this.item(`${shortRunId(run.runId)}  ${run.experiment}`, run.status, () => this.open(run.runId));
      item.dataset["runId"] = run.runId;
      return item;
    })));
    node.appendChild(this.section(this.trans.__("Published pipelines"), this.model.pipelines.map((pipeline) =>
      this.item(`${pipeline.name}${pipeline.version ? ` v${pipeline.version}` : ""}`, this.trans.__("Run"), () => this.submit(() => this.model.submitPipeline(pipeline.id, PANEL_EXPERIMENT))),
    )));
    node.appendChild(this.section(this.trans.__("Endpoints"), this.model.endpoints.map((endpoint) =>
      this.item(`${endpoint.name}${endpoint.defaultVersion ? ` (default ${endpoint.defaultVersion})` : ""}`, this.trans.__("Run"), () => this.submit(() => this.model.submitEndpoint(endpoint.name, PANEL_EXPERIMENT))),
    )));
    node.appendChild(this.section(this.trans.__("Agents"), this.model.agents.map((agent) => this.agentItem(agent))));
  }

  /** Agents with their slots: each GPU busy (with the step on it) or free. */
  private agentItem(agent: AgentSummary): HTMLElement {
    const li = html("li", "pb-Panel-item");
    li.append(html("span", "pb-Panel-link", `${agent.name} (${agent.status})`), html("span", "pb-Panel-tag", describeSlots(agent)));
    li.dataset["agent"] = agent.name;
    return li;
  }

  private section(title: string, items: HTMLElement[]): HTMLElement {
    const section = html("section", "pb-Panel-section");
    section.appendChild(html("h3", undefined, title));
    const list = html("ul");
    if (items.length === 0) {
      list.appendChild(html("li", "pb-Muted", this.trans.__("none")));
    }
    list.append(...items);
    section.appendChild(list);
    return section;
  }

  private item(label: string, action: string, onClick: () => void): HTMLElement {
    const li = html("li", "pb-Panel-item");
    const button = html("button", "pb-Panel-link", label);
    button.type = "button";
    button.addEventListener("click", onClick);
    li.append(button, html("span", "pb-Panel-tag", action));
    return li;
  }

  /** Opens a run below the lists (followed live while it runs); failures show in the status line. */
  open(runId: string): void {
    this.model.openRun(runId).catch((error: unknown) => {
      // Opening another run aborts this one's requests: not an error to show.
      if (error instanceof DOMException && error.name === "AbortError") {
        return;
      }
      this.status.textContent = String(error instanceof Error ? error.message : error);
    });
  }

  private submit(start: () => Promise<string>): void {
    start()
      .then(async (runId) => {
        await this.model.refresh();
        this.open(runId);
      })
      .catch((error: unknown) => {
        this.status.textContent = String(error instanceof Error ? error.message : error);
      });
  }

  protected override onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.model.refresh();
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      if (this.model.state.kind !== "loading") {
        void this.model.refresh();
      }
    }, REFRESH_MS);
  }

  protected override onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    clearInterval(this.timer);
    this.timer = undefined;
  }

  override dispose(): void {
    if (!this.isDisposed) {
      clearInterval(this.timer);
      this.model.dispose();
    }
    super.dispose();
  }
}
