// pipebook studio: the web page served by `pipebook serve`. Plain ES module, no build step.
// Every value from the server is put into the page with textContent / attributes, never as HTML.

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const FILL = { completed: "#dafbe1", reused: "#ddf4ff", running: "#fff8c5", failed: "#ffebe9", canceled: "#ffebe9", skipped: "#eaeef2", queued: "#f6f8fa" };
const STROKE = { completed: "#1a7f37", reused: "#0969da", running: "#9a6700", failed: "#cf222e", canceled: "#cf222e", skipped: "#8c959f", queued: "#8c959f" };

let token = sessionStorage.getItem("pipebook-token") ?? "";
let live = null;
let openRunId = null;
/** The runs list shows all runs, or those of one pipeline or endpoint: { title, path }. */
let runsOf = null;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function say(text, isError = false) {
  $("message").textContent = text;
  $("message").className = isError ? "error" : "muted";
}

/** The one function that calls the API; throws an Error with the server's sentence. */
async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${token}` };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method: options.method ?? "GET", headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = (await response.json()).error ?? message;
    } catch {}
    throw new Error(message);
  }
  return options.text ? response.text() : response.json();
}

function statusBadge(status) {
  return el("span", { class: `status ${status}` }, status);
}

async function refresh() {
  if (!token) {
    say("Enter an API token to connect (pipebook token create --name studio --scope read --scope runs:submit).");
    return;
  }
  try {
    const [pipelines, endpoints, runs, schedules, health] = await Promise.all([api("/pipelines"), api("/endpoints"), api(runsOf ? `${runsOf.path}?limit=30` : "/runs?limit=30"), api("/schedules"), fetch("/health").then((r) => r.json())]);
    $("runs-title").textContent = runsOf ? `Runs of ${runsOf.title}` : "Runs";
    $("all-runs").hidden = runsOf === null;
    $("workspace").textContent = `workspace ${health.workspace} · scheduler ${health.scheduler}`;
    renderPipelines(pipelines);
    renderEndpoints(endpoints);
    renderSchedules(schedules, pipelines);
    renderRuns(runs.runs);
    say(`${pipelines.length} pipeline(s), ${endpoints.length} endpoint(s), ${runs.runs.length} recent run(s)`);
  } catch (err) {
    say(err.message, true);
  }
}

function renderPipelines(pipelines) {
  const body = $("pipelines").tBodies[0];
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

function renderEndpoints(endpoints) {
  const body = $("endpoints").tBodies[0];
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

function renderSchedules(schedules, pipelines) {
  const nameOf = new Map(pipelines.map((p) => [p.id, `${p.name} ${p.version}`]));
  const body = $("schedules").tBodies[0];
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

function renderRuns(runs) {
  const body = $("runs").tBodies[0];
  body.replaceChildren(
    ...runs.map((r) => {
      const row = el("tr", { class: `clickable${r.runId === openRunId ? " selected" : ""}`, "data-run": r.runId, onclick: () => openRun(r.runId) },
        el("td", { class: "mono" }, r.runId),
        el("td", {}, r.experiment),
        el("td", {}, statusBadge(r.status)),
        el("td", {}, r.version !== undefined ? `${r.source} · v${r.version}` : r.source),
        el("td", {}, r.createdAt.replace("T", " ").slice(0, 19)),
      );
      return row;
    }),
  );
}

function showRunsOf(event, title, path) {
  event.preventDefault();
  runsOf = title === null ? null : { title, path };
  void refresh();
}

function openSubmit(title, path, parameters) {
  $("submit-title").textContent = title;
  $("submit-params").value = JSON.stringify(Object.fromEntries(parameters.map((p) => [p.name, p.defaultValue])), null, 1);
  $("submit-error").textContent = "";
  $("submit-dialog").dataset.path = path;
  $("submit-dialog").showModal();
}

async function submitRun(event) {
  event.preventDefault();
  let assignments;
  try {
    assignments = JSON.parse($("submit-params").value || "{}");
  } catch {
    $("submit-error").textContent = "Parameter assignments must be JSON, e.g. {\"learning_rate\": 0.1}";
    return;
  }
  try {
    const reply = await api($("submit-dialog").dataset.path, { method: "POST", body: { ExperimentName: $("submit-experiment").value, RunSource: "studio", ParameterAssignments: assignments } });
    $("submit-dialog").close();
    await refresh();
    await openRun(reply.Id);
  } catch (err) {
    $("submit-error").textContent = err.message;
  }
}

/** Longest-path levels from the sources: each step sits one column right of its last input. */
function layout(steps, edges) {
  const level = new Map(steps.map((s) => [s.name, 0]));
  for (let i = 0; i < steps.length; i++) for (const e of edges) level.set(e.to, Math.max(level.get(e.to) ?? 0, (level.get(e.from) ?? 0) + 1));
  const rows = new Map();
  const pos = new Map();
  for (const s of steps) {
    const l = level.get(s.name) ?? 0;
    const r = rows.get(l) ?? 0;
    rows.set(l, r + 1);
    pos.set(s.name, { x: 10 + l * 190, y: 10 + r * 64 });
  }
  return { pos, width: 10 + (Math.max(0, ...level.values()) + 1) * 190, height: 10 + Math.max(1, ...rows.values()) * 64 };
}

function drawGraph(view) {
  const svg = $("graph");
  const { pos, width, height } = layout(view.steps, view.edges);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("preserveAspectRatio", "xMinYMin meet");
  svg.setAttribute("height", String(height));
  const nodes = [];
  const defs = document.createElementNS(SVG, "defs");
  const marker = document.createElementNS(SVG, "marker");
  for (const [k, v] of Object.entries({ id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "6", markerHeight: "6", orient: "auto" })) marker.setAttribute(k, v);
  const tip = document.createElementNS(SVG, "path");
  tip.setAttribute("d", "M0,0 L10,5 L0,10 z");
  tip.setAttribute("fill", "#8c959f");
  marker.append(tip);
  defs.append(marker);
  nodes.push(defs);
  for (const e of view.edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const line = document.createElementNS(SVG, "line");
    for (const [k, v] of Object.entries({ x1: a.x + 160, y1: a.y + 22, x2: b.x, y2: b.y + 22, stroke: "#8c959f", "marker-end": "url(#arrow)" })) line.setAttribute(k, String(v));
    nodes.push(line);
  }
  for (const s of view.steps) {
    const p = pos.get(s.name);
    const g = document.createElementNS(SVG, "g");
    g.setAttribute("data-step", s.name);
    g.setAttribute("data-status", s.status);
    const rect = document.createElementNS(SVG, "rect");
    for (const [k, v] of Object.entries({ x: p.x, y: p.y, width: 160, height: 44, rx: 6, fill: FILL[s.status] ?? "#fff", stroke: STROKE[s.status] ?? "#8c959f" })) rect.setAttribute(k, String(v));
    const name = document.createElementNS(SVG, "text");
    name.setAttribute("x", String(p.x + 8));
    name.setAttribute("y", String(p.y + 18));
    name.setAttribute("font-weight", "600");
    name.textContent = s.name;
    const status = document.createElementNS(SVG, "text");
    status.setAttribute("x", String(p.x + 8));
    status.setAttribute("y", String(p.y + 36));
    status.textContent = s.status + (s.durationMs !== undefined ? ` · ${(s.durationMs / 1000).toFixed(1)}s` : "");
    g.append(rect, name, status);
    nodes.push(g);
  }
  svg.replaceChildren(...nodes);
}

function renderRun(view) {
  $("run").hidden = false;
  $("run-id").textContent = view.runId;
  $("run-status").textContent = view.status;
  $("run-status").className = `status ${view.status}`;
  const params = Object.entries(view.parameters).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ");
  $("run-meta").textContent = `experiment ${view.experiment} · created ${view.createdAt.replace("T", " ").slice(0, 19)}${params ? ` · parameters ${params}` : ""}${view.error ? ` · ${view.error}` : ""}`;
  drawGraph(view);
  $("steps").replaceChildren(
    ...view.steps.map((s) => {
      const metrics = s.metrics.map((m) => `${m.name}: ${m.points.length === 1 ? m.points[0].value : `${m.points.length} points, last ${m.points[m.points.length - 1].value}`}`).join(" · ");
      const logs = el("pre", { class: "log", "data-step": s.name }, s.logTail || (s.status === "running" || s.status === "queued" ? "(no output yet)" : "(no output)"));
      return el("div", { class: "step" },
        el("h3", {}, s.name, statusBadge(s.status), el("span", { class: "muted" }, s.why ?? ""),
          el("button", { type: "button", onclick: async () => (logs.textContent = await api(`/runs/${encodeURIComponent(view.runId)}/steps/${encodeURIComponent(s.name)}/logs`, { text: true }).catch((e) => e.message)) }, "Full log")),
        el("div", { class: "metrics" }, metrics || "no metrics"),
        s.error ? el("div", { class: "error" }, s.error) : "",
        logs,
      );
    }),
  );
}

/** Shows a run and follows it over the WebSocket until it ends. */
async function openRun(runId) {
  openRunId = runId;
  live?.close();
  for (const row of $("runs").tBodies[0].rows) row.classList.toggle("selected", row.dataset.run === runId);
  try {
    const view = await api(`/runs/${encodeURIComponent(runId)}`);
    renderRun(view);
    if (["completed", "failed", "canceled"].includes(view.status)) return;
    const url = new URL(`/runs/${encodeURIComponent(runId)}/live`, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("access_token", token);
    const socket = new WebSocket(url);
    live = socket;
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "view" && openRunId === runId) {
        renderRun(message.view);
        if (["completed", "failed", "canceled"].includes(message.view.status)) void refresh();
      }
    });
  } catch (err) {
    say(err.message, true);
  }
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  token = $("token").value.trim();
  sessionStorage.setItem("pipebook-token", token);
  $("token").value = "";
  void refresh();
});
$("refresh").addEventListener("click", () => void refresh());
$("all-runs").addEventListener("click", (e) => showRunsOf(e, null, null));
$("submit-form").addEventListener("submit", submitRun);
$("submit-cancel").addEventListener("click", () => $("submit-dialog").close());

// A token can be handed over in the URL fragment (never sent to the server): /#token=...
function tokenFromHash() {
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
