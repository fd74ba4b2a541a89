import type { TranslationBundle } from "@jupyterlab/translation";
import { Widget } from "@lumino/widgets";
import { formatDuration, shortRunId, statusWord, type StepView } from "pipebook/contract";
import type { RunModel } from "../model/RunModel.js";
import { currentServer, requestAPI } from "../request.js";
import { metricsTable } from "./metricPlot.js";
import { outputsSection } from "./outputPreview.js";
import { html } from "./svg.js";

type Tab = "logs" | "metrics" | "outputs";

const LOG_POLL_MS = 1500;

/**
 * Asks whoever listens (the side panel) to open a run: dispatched from a reused step's
 * "source run" link, which lives in a MIME renderer with no access to the application.
 */
export const OPEN_RUN_EVENT = "pipebook:open-run";

export interface OpenRunDetail {
  readonly runId: string;
}

/**
 * What a click on a step opens: its status line, the "why" line, its error, and tabs for logs,
 * metrics and output previews. Updates replace texts in place and keep the open tab and the
 * log's scroll position, so a running step's log can be read while it grows.
 */
export class StepDetailsView extends Widget {
  private tab: Tab = "logs";
  private readonly heading = html("div", "pb-Details-title");
  private readonly meta = html("div", "pb-Details-meta");
  private readonly why = html("div", "pb-Details-why");
  private readonly source = html("button", "pb-Details-source");
  private readonly error = html("pre", "pb-Details-error");
  private readonly tabs = html("div", "pb-Details-tabs");
  private readonly body = html("div", "pb-Details-body");
  private readonly log = html("pre", "pb-Log");
  private readonly logNote = html("div", "pb-Muted");
  private bodySignature = "";
  /** Full log fetched from the server for (run, step); the kernel's view only carries the tail. */
  private fullLog: { key: string; text: string; tail: string | undefined } | undefined;
  private fetching: string | undefined;
  /** A (run, step) whose log the server could not give; not asked again for this widget. */
  private failed = new Set<string>();
  /**
   * While a running step's log is on screen, the server is asked again every LOG_POLL_MS: run
   * views do not change on every log line, and the log should grow while one reads it.
   */
  private logPoll: ReturnType<typeof setInterval> | undefined;
  private pollDue = false;

  constructor(private readonly model: RunModel, private readonly trans: TranslationBundle) {
    super();
    this.addClass("pb-Details");
    this.heading.setAttribute("role", "heading");
    for (const [tab, label] of [["logs", trans.__("Logs")], ["metrics", trans.__("Metrics")], ["outputs", trans.__("Outputs")]] as const) {
      const button = html("button", "pb-Details-tab", label);
      button.type = "button";
      button.dataset["tab"] = tab;
      button.addEventListener("click", () => {
        this.tab = tab;
        this.bodySignature = "";
        this.refresh();
      });
      this.tabs.appendChild(button);
    }
    this.source.type = "button";
    this.source.hidden = true;
    this.source.addEventListener("click", () => {
      const runId = this.source.dataset["runId"];
      if (runId !== undefined) {
        this.node.dispatchEvent(new CustomEvent<OpenRunDetail>(OPEN_RUN_EVENT, { detail: { runId }, bubbles: true }));
      }
    });
    this.node.append(this.heading, this.meta, this.source, this.why, this.error, this.tabs, this.body);
    model.changed.connect(() => this.refresh(), this);
    model.selectionChanged.connect(() => {
      this.bodySignature = "";
      this.refresh();
    }, this);
    this.refresh();
  }

  private refresh(): void {
    const step = this.model.selectedStep;
    const run = this.model.run;
    this.setHidden(step === undefined || run === undefined);
    this.managePolling(step !== undefined && this.tab === "logs" && step.status === "running" && currentServer() !== undefined);
    if (step === undefined || run === undefined) {
      return;
    }
    this.node.dataset["step"] = step.name;
    this.node.dataset["status"] = step.status;
    this.heading.textContent = step.name;
    this.meta.textContent = this.metaLine(step);
    // The run a reused result came from can be opened in the side panel when a server is known.
    const from = step.reusedFrom;
    this.source.hidden = from === undefined || currentServer() === undefined;
    if (from !== undefined) {
      this.source.dataset["runId"] = from.runId;
      this.source.textContent = this.trans.__("Open run %1, where this result comes from", shortRunId(from.runId));
    }
    this.why.textContent = step.why ? this.trans.__("Why: %1", step.why) : "";
    this.why.hidden = !step.why;
    this.error.textContent = step.error ?? "";
    this.error.hidden = step.error === undefined;
    for (const button of Array.from(this.tabs.children) as HTMLElement[]) {
      button.classList.toggle("pb-active", button.dataset["tab"] === this.tab);
    }
    switch (this.tab) {
      case "logs":
        this.showLog(run.runId, step);
        break;
      case "metrics":
        this.replaceBody(JSON.stringify(["metrics", step.name, step.metrics]), () =>
          step.metrics.length === 0 ? html("div", "pb-Muted", this.trans.__("No metrics logged.")) : metricsTable(step.metrics),
        );
        break;
      case "outputs":
        this.replaceBody(JSON.stringify(["outputs", step.name, step.outputViews]), () => outputsSection(step.outputViews, this.trans));
        break;
    }
  }

  private managePolling(wanted: boolean): void {
    if (wanted && this.logPoll === undefined) {
      this.logPoll = setInterval(() => {
        this.pollDue = true;
        this.refresh();
      }, LOG_POLL_MS);
    } else if (!wanted && this.logPoll !== undefined) {
      clearInterval(this.logPoll);
      this.logPoll = undefined;
      this.pollDue = false;
    }
  }

  override dispose(): void {
    this.managePolling(false);
    super.dispose();
  }

  private metaLine(step: StepView): string {
    const parts = [statusWord(step.status, (text) => this.trans.__(text)), this.trans.__("%1 on %2", step.kind, step.compute)];
    if (step.status !== "reused" && step.durationMs !== undefined) {
      parts.push(formatDuration(step.durationMs));
    }
    if (step.reusedFrom !== undefined) {
      parts.push(this.trans.__("reused from run %1 (%2)", shortRunId(step.reusedFrom.runId), step.reusedFrom.experiment));
    }
    if (step.exitCode !== undefined) {
      parts.push(this.trans.__("exit code %1", step.exitCode));
    }
    return parts.join(" · ");
  }

  private replaceBody(signature: string, build: () => HTMLElement): void {
    if (signature === this.bodySignature) {
      return;
    }
    this.bodySignature = signature;
    this.body.replaceChildren(build());
  }

  private showLog(runId: string, step: StepView): void {
    if (this.bodySignature !== "logs") {
      this.bodySignature = "logs";
      this.body.replaceChildren(this.log, this.logNote);
    }
    const key = `${runId}/${step.name}`;
    const server = currentServer();
    const text = this.fullLog?.key === key ? this.fullLog.text : step.logTail ?? "";
    const atBottom = this.log.scrollTop + this.log.clientHeight >= this.log.scrollHeight - 4;
    if (this.log.textContent !== text) {
      this.log.textContent = text;
      if (atBottom) {
        this.log.scrollTop = this.log.scrollHeight;
      }
    }
    this.logNote.textContent =
      text === ""
        ? this.trans.__("No log output yet.")
        : this.fullLog?.key === key
          ? this.trans.__("Full log from the pipebook server.")
          : this.trans.__("Last lines of the log.");
    // While a step runs its log grows: fetch the full log again whenever its tail changed.
    const stale = this.fullLog?.key !== key || this.fullLog.tail !== step.logTail || this.pollDue;
    if (server !== undefined && stale && this.fetching === undefined && !this.failed.has(key)) {
      this.fetching = key;
      this.pollDue = false;
      const tail = step.logTail;
      requestAPI<string>(`runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(step.name)}/logs`, { as: "text" })
        .then((full) => {
          this.fullLog = { key, text: full, tail };
        })
        .catch(() => {
          // Keep showing the tail from the kernel's view; the note says which one is shown.
          this.failed.add(key);
        })
        .finally(() => {
          this.fetching = undefined;
          if (!this.isDisposed) {
            this.refresh();
          }
        });
    }
  }
}
