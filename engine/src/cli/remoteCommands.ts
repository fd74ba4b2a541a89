import { constants } from "node:os";
import { isTerminalRunStatus, type RunView, type StepView } from "../contract/runView.js";
import type { RunSummary } from "../contract/rest.js";
import { formatEvent } from "../runner/printEvent.js";
import { RemoteError } from "../remote/RemoteError.js";
import { RemoteRun } from "../remote/RemoteRun.js";
import type { RemoteServer } from "../remote/RemoteServer.js";
import { bytes, duration, table } from "./format.js";

/**
 * `pipebook run`, `runs`, `show`, `logs`, `why` and `cancel` for a project that submits to a
 * `pipebook serve` (pipebook.json "server" or PIPEBOOK_SERVER): the same output, read over REST.
 */

const CANCEL_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
const path = (runId: string): string => `/runs/${encodeURIComponent(runId)}`;

/** A run's full id on the server from an id or a unique prefix of one of its recent runs. */
export async function findRemoteRun(server: RemoteServer, idOrPrefix: string): Promise<RunView> {
  try {
    return (await server.json("RunView", "GET", path(idOrPrefix))) as unknown as RunView;
  } catch (err) {
    if (!(err instanceof RemoteError && err.failure.reason === "refused" && err.failure.status === 404)) throw err;
  }
  const { runs } = await server.json("RunList", "GET", "/runs?limit=500");
  const ids = runs.map((r) => r.runId).filter((id) => id.startsWith(idOrPrefix));
  if (ids.length === 1) return (await server.json("RunView", "GET", path(ids[0]!))) as unknown as RunView;
  if (ids.length === 0) throw new RemoteError({ reason: "refused", server: server.url, status: 404, detail: `no run ${idOrPrefix} on the pipebook server at ${server.url} (see: pipebook runs)` });
  throw new RemoteError({ reason: "refused", server: server.url, status: 400, detail: `"${idOrPrefix}" matches several runs: ${ids.join(", ")}` });
}

function stepRow(s: StepView): string[] {
  return [s.name, s.status, s.startedAt ? duration(s.startedAt, s.endedAt ?? null) : "", s.compute, s.status === "failed" || s.status === "skipped" || s.status === "canceled" ? (s.error ?? s.why ?? "") : (s.why ?? "")];
}

/**
 * Follows a run submitted by `pipebook run` to its end: progress lines, then the summary. A
 * signal (Ctrl-C) cancels it on the server; `interruptedBy` is one received during the submit.
 */
export async function followRemoteRun(run: RemoteRun, name: string, quiet: boolean, interruptedBy?: NodeJS.Signals): Promise<void> {
  const total = run.view().steps.length;
  let done = 0;
  const up = run.uploaded;
  process.stdout.write(`submitted run ${run.id} (experiment ${name}, ${total} steps) to ${run.serverUrl}${up ? `: uploaded ${up.uploaded} of ${up.blobs} code blobs (${bytes(up.bytes)})` : ""}\n`);
  run.onEvent((e) => {
    if (e.type === "step-log" && quiet) return;
    if (e.type === "step-status" && e.status !== "running" && e.status !== "queued") done++;
    const line = formatEvent(e);
    if (line !== undefined) process.stdout.write(e.type === "step-status" ? `[${done}/${total}] ${line}\n` : `${line}\n`);
  });
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stoppedBy) process.exit(128 + constants.signals[signal]);
    stoppedBy = signal;
    process.stderr.write(`\n${signal}: canceling run ${run.id} on ${run.serverUrl} (send it again to leave at once)\n`);
    run.cancel();
  };
  for (const signal of CANCEL_SIGNALS) process.on(signal, onSignal);
  // Interrupted while it was being submitted: canceled now that it has an id.
  if (interruptedBy) onSignal(interruptedBy);
  const view = await run.waitForCompletion().finally(() => CANCEL_SIGNALS.forEach((signal) => process.off(signal, onSignal)));
  process.stdout.write(`\n${table(["step", "status", "time", "compute", "why"], view.steps.map(stepRow))}\n`);
  const reused = view.steps.filter((s) => s.status === "reused").length;
  const ran = view.steps.filter((s) => s.status === "completed" || s.status === "failed").length;
  process.stdout.write(`\nrun ${run.id} ${view.status} in ${duration(view.createdAt, view.endedAt ?? null)}: ${ran} ran, ${reused} reused${view.error ? ` — ${view.error}` : ""}\n`);
  process.stdout.write(`details: pipebook show ${run.id}   logs: pipebook logs ${run.id} STEP   why: pipebook why ${run.id} STEP\n`);
  process.exitCode = view.status === "completed" ? 0 : stoppedBy ? 128 + constants.signals[stoppedBy] : 1;
}

function summaryLine(r: RunSummary): string[] {
  return [r.runId, r.experiment, r.status, r.createdAt.replace("T", " ").slice(0, 19), duration(r.createdAt, r.endedAt ?? null), r.source];
}

export async function remoteRuns(server: RemoteServer, options: { experiment?: string; limit: number }): Promise<void> {
  const q = new URLSearchParams({ limit: String(options.limit), ...(options.experiment && { experiment: options.experiment }) });
  const { runs } = await server.json("RunList", "GET", `/runs?${q.toString()}`);
  if (runs.length === 0) return void process.stdout.write(`no runs yet on ${server.url}\n`);
  process.stdout.write(`${table(["run", "experiment", "status", "created", "time", "source"], runs.map(summaryLine))}\n`);
}

export async function remoteShow(server: RemoteServer, id: string): Promise<void> {
  const view = await findRemoteRun(server, id);
  const out: string[] = [
    `run        ${view.runId}  (on ${server.url})`,
    `experiment ${view.experiment}`,
    `status     ${view.status}${view.error ? ` — ${view.error}` : ""}`,
    `created    ${view.createdAt}`,
    `parameters ${Object.keys(view.parameters).length > 0 ? Object.entries(view.parameters).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ") : "(none)"}`,
    "",
    table(["step", "status", "time", "compute", "why"], view.steps.map(stepRow)),
  ];
  for (const s of view.steps) {
    if (s.error && s.status === "failed") out.push("", `${s.name}: ${s.error}`);
    if (s.metrics.length > 0) out.push("", `${s.name} metrics: ${s.metrics.map((m) => `${m.name}=${m.points.length === 1 ? m.points[0]!.value : `[${m.points.map((p) => p.value).join(", ")}]`}`).join("  ")}`);
    for (const o of s.outputViews) out.push(`${s.name} output ${o.name}: ${o.hash?.slice(0, 12) ?? "no hash"}`);
  }
  process.stdout.write(`${out.join("\n")}\n`);
}

export async function remoteLogs(server: RemoteServer, id: string, stepName: string | undefined): Promise<void> {
  const view = await findRemoteRun(server, id);
  const steps = stepName === undefined ? view.steps : view.steps.filter((s) => s.name === stepName);
  if (steps.length === 0) throw new RemoteError({ reason: "refused", server: server.url, status: 404, detail: `run ${view.runId} has no step "${stepName}" (steps: ${view.steps.map((s) => s.name).join(", ")})` });
  for (const s of steps) {
    if (stepName === undefined) process.stdout.write(`==> ${s.name} (${s.status}) <==\n`);
    if (s.reusedFrom) process.stdout.write(`(reused: log of step run ${s.reusedFrom.stepRunId})\n`);
    const text = await server.text("GET", `${path(view.runId)}/steps/${encodeURIComponent(s.name)}/logs`);
    process.stdout.write(text !== "" ? text : s.status === "skipped" ? "(not run)\n" : "(no output)\n");
  }
}

export async function remoteWhy(server: RemoteServer, id: string, stepName: string): Promise<void> {
  const view = await findRemoteRun(server, id);
  const why = await server.json("StepWhy", "GET", `${path(view.runId)}/steps/${encodeURIComponent(stepName)}/why`);
  process.stdout.write(`${why.step} in run ${why.runId}: ${why.status}\n${why.lines.join("\n")}\n`);
  if (why.key) process.stdout.write(`key ${why.key}\n`);
}

export async function remoteCancel(server: RemoteServer, id: string): Promise<void> {
  const view = await findRemoteRun(server, id);
  if (isTerminalRunStatus(view.status)) throw new RemoteError({ reason: "refused", server: server.url, status: 409, detail: `run ${view.runId} already ended ${view.status}; there is nothing to cancel` });
  await server.request("POST", `${path(view.runId)}/cancel`);
  const end = await new RemoteRun(server, view).waitForCompletion();
  process.stdout.write(`run ${end.runId} ${end.status}\n`);
  process.exitCode = end.status === "canceled" ? 0 : 1;
}
