// pipebook studio: the web page served by `pipebook serve`, bundled by engine/scripts/buildPage.mjs.
// Every value from the server is put into the page with textContent / attributes, never as HTML;
// the run graph is the contract's drawing (the notebook fallback and the lab draw the same).
import { formatMetric, isTerminalRunStatus, renderRunGraph, STATUS_TABLE, statusWord, svgToDom, readErrorReply, type DataNodeView, type FailureCode, type RunStatus, type RunView, type StepStatus } from "pipebook/contract";

import type { AgentList, DatasetVersionReply, EndpointRunList, ErrorReply, Health, LiveFrame, PipelineEndpointReply, PublishedPipelineReply, RunList, RunSubmitted, ScheduleReply } from "pipebook/contract/rest";

type ParameterSummary = PublishedPipelineReply["parameters"][number];

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`the page has no #${id}`);
  return node as T;
}

let token = sessionStorage.getItem("pipebook-token") ?? "";
let live: WebSocket | null = null;
let openRunId: string | null = null;
/** The runs list shows all runs, or those of one pipeline or endpoint. */
let runsOf: { title: string; path: string } | null = null;

type Props = Record<string, string | ((event: Event) => void)>;

function el(tag: string, props: Props = {}, ...children: (Node | string)[]): HTMLElement {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

/** The page's message line: a sentence, or a failure (with its code and reason: showFailure). */
function say(what: unknown, isError = false): void {
  showFailure($("message"), what);
  $("message").className = isError ? "error" : "muted";
}

/**
 * A reply that is not 2xx: the server's sentence (or the status line, where the body is not an
 * `ErrorReply`), and an expected failure's `code` and `reason` where the server gave them.
 */
class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly code: FailureCode | undefined, readonly reason: string | undefined) {
    super(message);
    this.name = "ApiError";
  }
}

/**
 * Shows a failure (an error, or a sentence of the page's own) in `node`: its sentence, and a
 * reply's code and reason as `data-code` / `data-reason`. Every place the page shows a failure
 * goes through here, so each keeps what the server said, not only its words.
 */
function showFailure(node: HTMLElement, err: unknown): void {
  node.textContent = message(err);
  for (const key of ["code", "reason"] as const) {
    const value = err instanceof ApiError ? err[key] : undefined;
    if (value === undefined) delete node.dataset[key];
    else node.dataset[key] = value;
  }
}

/** The one function that calls the API; throws an ApiError with the server's sentence, code and reason. */
async function api<T>(path: string, options: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await request(path, options);
  return (await response.json()) as T;
}

async function apiText(path: string): Promise<string> {
  return (await request(path, {})).text();
}

async function request(path: string, options: { method?: string; body?: unknown }): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method: options.method ?? "GET", headers, ...(options.body !== undefined && { body: JSON.stringify(options.body) }) });
  if (!response.ok) {
    let reply: Partial<ErrorReply> = {};
    try {
      reply = readErrorReply(await response.json());
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, reply.error ?? `${response.status} ${response.statusText}`, reply.code, reply.reason);
  }
  return response;
}

/** A status in the status table's word and colours. */
function statusBadge(status: StepStatus): HTMLElement {
  const badge = el("span", { class: "status" }, statusWord(status));
  paintStatus(badge, status);
  return badge;
}

function paintStatus(node: HTMLElement, status: StepStatus): void {
  // CSSOM, not a style attribute: the page's CSP allows no inline style attributes.
  node.style.color = STATUS_TABLE[status].colour;
  node.style.backgroundColor = STATUS_TABLE[status].tint;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function refresh(): Promise<void> {
  if (!token) {
    say("Enter an API token to connect (pipebook token create --name studio --scope read --scope runs:submit).");
    return;
  }
  try {
    const [pipelines, endpoints, runs, schedules, health] = await Promise.all([
      api<PublishedPipelineReply[]>("/pipelines"), api<PipelineEndpointReply[]>("/endpoints"),
      api<RunList | EndpointRunList>(runsOf ? `${runsOf.path}?limit=30` : "/runs?limit=30"), api<ScheduleReply[]>("/schedules"),
      fetch("/health").then((r) => r.json() as Promise<Health>),
    ]);
    $("runs-title").textContent = runsOf ? `Runs of ${runsOf.title}` : "Runs";
    $("all-runs").hidden = runsOf === null;
    $("workspace").textContent = `workspace ${health.workspace} · scheduler ${health.scheduler}`;
    renderPipelines(pipelines);
    renderEndpoints(endpoints);
    renderSchedules(schedules, pipelines);
    renderRuns(runs.runs);
    say(`${pipelines.length} pipeline(s), ${endpoints.length} endpoint(s), ${runs.runs.length} recent run(s)`);
  } catch (err) {
    say(err, true);
  }
}

/** Agents of this server: each GPU a slot, busy with a step or free; a pool's waiting steps. */
async function refreshAgents(): Promise<void> {
  if (!token) return;
  let list: AgentList;
  try {
    list = await api<AgentList>("/agents");
  } catch (err) {
    showFailure($("agents-note"), err);
    return;
  }
  showFailure($("agents-note"), list.agents.length === 0 ? "no agent has connected (pipebook agent --server URL --token T)" : list.pools.map((p) => `pool ${p.name}: ${p.waiting.length} waiting`).join(" · "));
  tbody("agents").replaceChildren(
    ...list.agents.map((a) =>
      el("tr", {},
        el("td", {}, a.name), el("td", {}, a.status),
        el("td", { class: "mono" }, Object.entries(a.labels).map(([k, v]) => `${k}=${v}`).join(" ")),
        el("td", { class: "mono" }, a.slots.length === 0 ? "no GPUs" : a.slots.map((slot) => `GPU ${slot.gpu}: ${slot.step === null ? "free" : `busy (${slot.step})`}`).join(" · ")),
        el("td", { class: "mono" }, a.jobs.map((j) => j.stepRunId).join(" ") || "—"),
        el("td", { class: "muted" }, `${a.inventory.host} · ${a.inventory.cpus} CPUs · ${Math.round(a.inventory.memoryMb / 1024)} GiB`),
      ),
    ),
  );
}

function tbody(id: string): HTMLTableSectionElement {
  const body = $<HTMLTableElement>(id).tBodies[0];
  if (body === undefined) throw new Error(`#${id} has no tbody`);
  return body;
}

function renderPipelines(pipelines: readonly PublishedPipelineReply[]): void {
  const body = tbody("pipelines");
  body.replaceChildren(
    ...pipelines.map((p) =>
      el("tr", {},
        el("td", {}, el("a", { href: "#", class: "runs-of", onclick: (e) => showRunsOf(e, `pipeline ${p.name} ${p.version}`, `/pipelines/${encodeURIComponent(p.id)}/runs`) }, p.name)),
        el("td", {}, p.version),
        el("td", { class: "mono" }, p.parameters.map((x) => `${x.name}=${JSON.stringify(x.defaultValue)}`).join(" ")),
        el("td", { class: "mono" }, p.id.slice(0, 8)),
        el("td", {}, el("button", { type: "button", onclick: () => openSubmit(`Run pipeline ${p.name} ${p.version}`, `/pipelines/${encodeURIComponent(p.id)}/runs`, p.parameters) }, "Run")),
      ),
    ),
  );
  if (pipelines.length === 0) body.append(el("tr", {}, el("td", { colspan: "5", class: "muted" }, "none published yet (pipebook publish RUN --name NAME)")));
}

function renderEndpoints(endpoints: readonly PipelineEndpointReply[]): void {
  const body = tbody("endpoints");
  body.replaceChildren(
    ...endpoints.map((e) =>
      el("tr", {},
        el("td", {}, el("a", { href: "#", class: "runs-of", onclick: (ev) => showRunsOf(ev, `endpoint ${e.name}`, `/endpoints/${encodeURIComponent(e.name)}/runs`) }, e.name)),
        el("td", {}, e.defaultVersion),
        el("td", { class: "mono" }, e.versions.map((v) => `${v.version}${v.version === e.defaultVersion ? "*" : ""}→${v.pipelineId.slice(0, 8)}`).join("  ")),
        el("td", {}, e.description),
        el("td", {}, el("button", { type: "button", onclick: () => openSubmit(`Run endpoint ${e.name} (default version ${e.defaultVersion})`, `/endpoints/${encodeURIComponent(e.name)}/runs`, []) }, "Run")),
      ),
    ),
  );
  if (endpoints.length === 0) body.append(el("tr", {}, el("td", { colspan: "5", class: "muted" }, "no endpoints yet")));
}

function renderSchedules(schedules: readonly ScheduleReply[], pipelines: readonly PublishedPipelineReply[]): void {
  const nameOf = new Map(pipelines.map((p) => [p.id, `${p.name} ${p.version}`]));
  const body = tbody("schedules");
  body.replaceChildren(
    ...schedules.map((s) =>
      el("tr", {},
        el("td", {}, s.name),
        el("td", {}, s.target.kind === "pipeline" ? `pipeline ${nameOf.get(s.target.id) ?? s.target.id.slice(0, 8)}` : `endpoint ${s.target.name}${s.target.version !== undefined ? ` v${s.target.version}` : ""}`),
        el("td", { class: "mono" }, s.trigger.kind === "cron" ? `cron ${s.trigger.cron}` : `when ${s.trigger.datastore}:${s.trigger.path} changes`),
        el("td", {}, s.experiment),
        el("td", {}, (s.lastTickAt ?? "").replace("T", " ").slice(0, 19)),
        el("td", {}, s.enabled ? "yes" : "no"),
      ),
    ),
  );
  if (schedules.length === 0) body.append(el("tr", {}, el("td", { colspan: "6", class: "muted" }, "no schedules (pipebook schedule create …)")));
}

function renderRuns(runs: RunList["runs"] | EndpointRunList["runs"]): void {
  tbody("runs").replaceChildren(
    ...runs.map((r) =>
      el("tr", { class: `clickable${r.runId === openRunId ? " selected" : ""}`, "data-run": r.runId, onclick: () => void openRun(r.runId) },
        el("td", { class: "mono" }, r.runId),
        el("td", {}, r.experiment),
        el("td", {}, statusBadge(r.status)),
        el("td", {}, "version" in r ? `${r.source} · v${r.version}` : r.source),
        el("td", {}, r.createdAt.replace("T", " ").slice(0, 19)),
      ),
    ),
  );
}

function showRunsOf(event: Event, title: string | null, path: string | null): void {
  event.preventDefault();
  runsOf = title === null || path === null ? null : { title, path };
  void refresh();
}

function openSubmit(title: string, path: string, parameters: readonly ParameterSummary[]): void {
  $("submit-title").textContent = title;
  $<HTMLTextAreaElement>("submit-params").value = JSON.stringify(Object.fromEntries(parameters.map((p) => [p.name, p.defaultValue])), null, 1);
  showFailure($("submit-error"), "");
  $("submit-dialog").dataset["path"] = path;
  $<HTMLDialogElement>("submit-dialog").showModal();
}

async function submitRun(event: Event): Promise<void> {
  event.preventDefault();
  let assignments: unknown;
  try {
    assignments = JSON.parse($<HTMLTextAreaElement>("submit-params").value || "{}");
  } catch {
    showFailure($("submit-error"), "Parameter assignments must be JSON, e.g. {\"learning_rate\": 0.1}");
    return;
  }
  try {
    const body = { ExperimentName: $<HTMLInputElement>("submit-experiment").value, RunSource: "studio", ParameterAssignments: assignments };
    const reply = await api<RunSubmitted>($("submit-dialog").dataset["path"] ?? "", { method: "POST", body });
    $<HTMLDialogElement>("submit-dialog").close();
    await refresh();
    await openRun(reply.Id);
  } catch (err) {
    showFailure($("submit-error"), err);
  }
}

function renderRun(view: RunView): void {
  $("run").hidden = false;
  $("run-id").textContent = view.runId;
  $("run-status").textContent = statusWord(view.status);
  paintStatus($("run-status"), view.status);
  const params = Object.entries(view.parameters).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ");
  $("run-meta").textContent = `experiment ${view.experiment} · created ${view.createdAt.replace("T", " ").slice(0, 19)}${params ? ` · parameters ${params}` : ""}${view.error ? ` · ${view.error}` : ""}`;
  $("graph").replaceChildren(svgToDom(renderRunGraph(view, { dataLink: datasetLink }), document));
  $("steps").replaceChildren(
    ...view.steps.map((s) => {
      const metrics = s.metrics.map((m) => `${m.name}: ${m.points.length === 1 ? formatMetric(m) : `${m.points.length} points, last ${formatMetric(m)}`}`).join(" · ");
      const logs = el("pre", { class: "log", "data-step": s.name }, s.logTail || (s.status === "running" || s.status === "queued" ? "(no output yet)" : "(no output)"));
      const fullLog = async (): Promise<void> => {
        logs.textContent = await apiText(`/runs/${encodeURIComponent(view.runId)}/steps/${encodeURIComponent(s.name)}/logs`).catch(message);
      };
      return el("div", { class: "step" },
        el("h3", {}, s.name, statusBadge(s.status), el("span", { class: "muted" }, s.why ?? ""), el("button", { type: "button", onclick: () => void fullLog() }, "Full log")),
        el("div", { class: "metrics" }, metrics || "no metrics"),
        s.error ? el("div", { class: "error" }, s.error) : "",
        logs,
      );
    }),
  );
}

/** A data node that is a registered dataset version links to its profile, shown below the graph. */
function datasetLink(d: DataNodeView): string | undefined {
  return d.dataset ? `#dataset=${encodeURIComponent(d.dataset.name)}&version=${d.dataset.version}` : undefined;
}

async function showDataset(name: string, version: string): Promise<void> {
  const box = $("dataset");
  box.hidden = false;
  try {
    const v = await api<DatasetVersionReply>(`/datasets/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`);
    const from = v.registeredBy ? ` · registered by run ${v.registeredBy.runId} step ${v.registeredBy.step} (output ${v.registeredBy.output})` : "";
    box.replaceChildren(
      el("h3", {}, `dataset ${v.name} version ${v.version}`),
      el("p", { class: "muted" }, `${v.kind} · ${v.fileCount} file${v.fileCount === 1 ? "" : "s"} · ${v.bytes} bytes · registered ${v.createdAt.replace("T", " ").slice(0, 19)}${from}${v.description ? ` · ${v.description}` : ""}`),
      v.profile
        ? el("table", { class: "profile" },
          el("thead", {}, el("tr", {}, ...v.profile.header.map((h) => el("th", {}, h)))),
          el("tbody", {}, ...v.profile.rows.map((row) => el("tr", {}, ...row.map((cell) => el("td", {}, cell))))))
        : el("p", { class: "muted" }, "files, not a table: no profile"),
    );
  } catch (err) {
    const p = el("p", { class: "error" });
    showFailure(p, err);
    box.replaceChildren(p);
  }
}

/** Shows a run and follows it over the WebSocket until it ends. */
async function openRun(runId: string): Promise<void> {
  openRunId = runId;
  $("dataset").hidden = true;
  live?.close();
  for (const row of Array.from(tbody("runs").rows)) row.classList.toggle("selected", row.dataset["run"] === runId);
  try {
    const view = await api<RunView>(`/runs/${encodeURIComponent(runId)}`);
    renderRun(view);
    if (isTerminalRunStatus(view.status)) return;
    const url = new URL(`/runs/${encodeURIComponent(runId)}/live`, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("access_token", token);
    const socket = new WebSocket(url);
    live = socket;
    socket.addEventListener("message", (event: MessageEvent<string>) => {
      const frame = JSON.parse(event.data) as LiveFrame;
      if (frame.type === "view" && openRunId === runId) {
        renderRun(frame.view);
        if (isTerminalRunStatus(frame.view.status)) void refresh();
      }
    });
  } catch (err) {
    say(err, true);
  }
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  token = $<HTMLInputElement>("token").value.trim();
  sessionStorage.setItem("pipebook-token", token);
  $<HTMLInputElement>("token").value = "";
  void refresh();
});
$("refresh").addEventListener("click", () => void refresh());
// Slots change as steps start and end: the agents table follows them while the page is open.
setInterval(() => void refreshAgents(), 2000);
// A data node's link opens its profile here; the fragment stays for the token hand-over.
$("graph").addEventListener("click", (event) => {
  const link = (event.target as Element | null)?.closest("a.pb-data-link");
  if (!link) return;
  event.preventDefault();
  const q = new URLSearchParams((link.getAttribute("href") ?? "").replace(/^#/, ""));
  void showDataset(q.get("dataset") ?? "", q.get("version") ?? "");
});
$("all-runs").addEventListener("click", (e) => showRunsOf(e, null, null));
$("submit-form").addEventListener("submit", (e) => void submitRun(e));
$("submit-cancel").addEventListener("click", () => $<HTMLDialogElement>("submit-dialog").close());

// A token can be handed over in the URL fragment (never sent to the server): /#token=...
function tokenFromHash(): boolean {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (!fromHash) return false;
  token = fromHash;
  sessionStorage.setItem("pipebook-token", token);
  history.replaceState(null, "", location.pathname + location.search);
  return true;
}
window.addEventListener("hashchange", () => tokenFromHash() && void refresh());
tokenFromHash();
void refresh();
