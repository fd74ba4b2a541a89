import { Signal, type ISignal } from "@lumino/signaling";
import type { RunView } from "pipebook/contract";
import { isTerminalRunStatus } from "pipebook/contract";
import { parseRunView } from "../model/parseRunView.js";
import { SseParser } from "../model/sseParser.js";
import {
  readAgentSummaries, readEndpointSummaries, readPipelineSummaries, readRunSummaries,
  type AgentSummary, type EndpointSummary, type PipelineSummary, type RunSummary,
} from "../model/summaries.js";
import { currentServer, PipebookRequestError, readReplyAs, requestAPI } from "../request.js";

export type PanelState =
  | { readonly kind: "unconfigured" }
  | { readonly kind: "loading" }
  | { readonly kind: "ready" }
  | { readonly kind: "error"; readonly message: string };

/**
 * The side panel's data: the workspace's recent runs, published pipelines and endpoints from
 * the pipebook server, and the run opened from the list, kept live through the server's event
 * stream until it ends.
 */
export class RunsPanelModel {
  runs: readonly RunSummary[] = [];
  pipelines: readonly PipelineSummary[] = [];
  endpoints: readonly EndpointSummary[] = [];
  /** The server's agents (empty for a server without the agents route or a token without read). */
  agents: readonly AgentSummary[] = [];
  private _state: PanelState = { kind: "loading" };
  private follow: AbortController | undefined;
  private readonly _changed = new Signal<this, void>(this);
  private readonly _runUpdated = new Signal<this, RunView>(this);

  get state(): PanelState {
    return this._state;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Each view of the opened run, first the current one, then live updates. */
  get runUpdated(): ISignal<this, RunView> {
    return this._runUpdated;
  }

  async refresh(): Promise<void> {
    if (currentServer() === undefined) {
      this.setState({ kind: "unconfigured" });
      return;
    }
    this.setState({ kind: "loading" });
    try {
      const [runs, pipelines, endpoints, agents] = await Promise.all([
        requestAPI("runs?limit=20"), requestAPI("pipelines"), requestAPI("endpoints"), requestAPI("agents").catch(() => ({ agents: [], pools: [] })),
      ]);
      this.agents = readAgentSummaries(agents);
      this.runs = readRunSummaries(runs);
      this.pipelines = readPipelineSummaries(pipelines);
      this.endpoints = readEndpointSummaries(endpoints);
      this.setState({ kind: "ready" });
    } catch (error) {
      this.setState({ kind: "error", message: error instanceof PipebookRequestError ? error.message : String(error) });
    }
  }

  /** Opens a run: shows its current view, then follows its event stream while it is not finished. */
  async openRun(runId: string): Promise<void> {
    this.follow?.abort();
    const follow = new AbortController();
    this.follow = follow;
    const view = parseRunView(await requestAPI(`runs/${encodeURIComponent(runId)}`, { signal: follow.signal }));
    if (!view.ok) {
      throw new Error(view.detail);
    }
    this._runUpdated.emit(view.run);
    this.refreshIfListed(view.run);
    if (!isTerminalRunStatus(view.run.status)) {
      void this.followEvents(runId, follow.signal).catch(() => {
        // The stream ended or failed: the last view stays on screen; Refresh opens it again.
      });
    }
  }

  async submitPipeline(id: string, experiment: string): Promise<string> {
    return runIdOf(await requestAPI(`pipelines/${encodeURIComponent(id)}/runs`, { method: "POST", body: { ExperimentName: experiment, ParameterAssignments: {} } }));
  }

  async submitEndpoint(name: string, experiment: string): Promise<string> {
    return runIdOf(await requestAPI(`endpoints/${encodeURIComponent(name)}/runs`, { method: "POST", body: { ExperimentName: experiment, ParameterAssignments: {} } }));
  }

  private async followEvents(runId: string, signal: AbortSignal): Promise<void> {
    const response = await requestAPI<Response>(`runs/${encodeURIComponent(runId)}/events`, { as: "response", signal });
    const reader = response.body?.getReader();
    if (reader === undefined) {
      return;
    }
    const decoder = new TextDecoder();
    const parser = new SseParser();
    for (;;) {
      const { done, value } = await reader.read();
      if (done || signal.aborted) {
        return;
      }
      for (const event of parser.push(decoder.decode(value, { stream: true }))) {
        const view = parseRunView(event.data);
        if (view.ok) {
          this._runUpdated.emit(view.run);
          this.refreshIfListed(view.run);
          if (isTerminalRunStatus(view.run.status)) {
            await reader.cancel();
            return;
          }
        }
      }
    }
  }

  /** The list shows an older status of this run (it finished since): read the lists again. */
  private refreshIfListed(run: RunView): void {
    const listed = this.runs.find((r) => r.runId === run.runId);
    if (listed !== undefined && listed.status !== run.status && isTerminalRunStatus(run.status) && this._state.kind !== "loading") {
      void this.refresh();
    }
  }

  private setState(state: PanelState): void {
    this._state = state;
    this._changed.emit();
  }

  dispose(): void {
    this.follow?.abort();
    Signal.clearData(this);
  }
}

function runIdOf(reply: unknown): string {
  return readReplyAs("RunSubmitted", reply).Id;
}
