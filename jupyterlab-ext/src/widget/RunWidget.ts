import { nullTranslator, type ITranslator, type TranslationBundle } from "@jupyterlab/translation";
import { Panel, Widget } from "@lumino/widgets";
import { shortRunId, STATUS_TABLE, statusWord, type RunView, type StepStatus, type Translate } from "pipebook/contract";
import { parseRunView } from "../model/parseRunView.js";
import { RunModel } from "../model/RunModel.js";
import { countByStatus } from "../model/statusSummary.js";
import { RunGraphView } from "./RunGraphView.js";
import { StepDetailsView } from "./StepDetailsView.js";
import { html } from "./svg.js";

/** The i18n domain of every string in this extension. */
export const TRANSLATION_DOMAIN = "pipebook";

/**
 * One run: a header line (run, experiment, status counts, parameters), the graph and the
 * selected step's details. Used by the MIME renderer in notebooks and by the side panel.
 */
export class RunWidget extends Panel {
  readonly model = new RunModel();
  protected readonly trans: TranslationBundle;
  private readonly t: Translate;
  private readonly header = new Widget({ node: html("div", "pb-RunHeader") });
  private readonly message = new Widget({ node: html("div", "pb-RunMessage") });
  private readonly graph: RunGraphView;
  private readonly details: StepDetailsView;

  constructor(translator: ITranslator = nullTranslator) {
    super();
    this.trans = translator.load(TRANSLATION_DOMAIN);
    this.t = (text, ...args) => this.trans.__(text, ...args);
    this.addClass("pb-Run");
    for (const [status, style] of Object.entries(STATUS_TABLE)) {
      this.node.style.setProperty(`--pb-color-${status}`, style.colour);
    }
    this.graph = new RunGraphView(this.model, this.trans);
    this.details = new StepDetailsView(this.model, this.trans);
    this.message.hide();
    this.header.hide();
    for (const widget of [this.header, this.message, this.graph, this.details]) {
      this.addWidget(widget);
    }
    this.model.changed.connect(() => this.renderHeader(), this);
  }

  /** Shows a payload from any source; returns false (and says why on screen) when it cannot be drawn. */
  showData(data: unknown): boolean {
    const parsed = parseRunView(data);
    if (!parsed.ok) {
      this.showMessage(this.trans.__("This pipebook run output cannot be shown: %1", parsed.detail));
      return false;
    }
    this.showRun(parsed.run);
    return true;
  }

  showRun(run: RunView): void {
    this.model.update(run);
    this.message.hide();
  }

  protected showMessage(text: string): void {
    this.message.node.textContent = text;
    this.message.show();
  }

  private renderHeader(): void {
    const run = this.model.run;
    if (run === undefined) {
      return;
    }
    const node = this.header.node;
    this.header.show();
    node.replaceChildren();
    node.dataset["runStatus"] = run.status;
    const title = html("span", "pb-RunHeader-title", this.trans.__("Run %1", shortRunId(run.runId)));
    title.title = run.runId;
    node.appendChild(title);
    node.appendChild(html("span", "pb-RunHeader-experiment", run.experiment));
    node.appendChild(coloured(html("span", `pb-RunHeader-status pb-run-${run.status}`, statusWord(run.status, this.t)), run.status));
    const counts = html("span", "pb-RunHeader-counts");
    for (const [status, count] of countByStatus(run)) {
      counts.appendChild(coloured(html("span", `pb-count pb-status-${status}`, `${count} ${statusWord(status, this.t)}`), status));
    }
    node.appendChild(counts);
    const parameters = Object.entries(run.parameters);
    if (parameters.length > 0) {
      node.appendChild(html("span", "pb-RunHeader-params", parameters.map(([k, v]) => `${k}=${String(v)}`).join("  ")));
    }
    node.title = run.error ?? "";
  }

  override dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.dispose();
    super.dispose();
  }
}

/** Status text in the status table's colour, as the graph, the notebook fallback and the studio page show it. */
function coloured(element: HTMLElement, status: StepStatus): HTMLElement {
  element.style.color = STATUS_TABLE[status].colour;
  return element;
}
