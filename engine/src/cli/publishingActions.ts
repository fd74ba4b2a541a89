import { PipelineParameter } from "../dsl/PipelineParameter.js";
import { Workspace } from "../workspace/Workspace.js";
import { ApiTokens, isScope, SCOPES, type Scope } from "../auth/ApiTokens.js";
import { PipelineEndpoint } from "../publish/PipelineEndpoint.js";
import { PublishedPipeline } from "../publish/PublishedPipeline.js";
import { resolveTarget, describeTarget } from "../publish/resolveTarget.js";
import { Schedule } from "../schedules/Schedule.js";
import type { ScheduleTarget, ScheduleTrigger } from "../store/ScheduleStore.js";
import { parseRunAssignments } from "../runner/resolveParameters.js";
import type { PipelineRun } from "../runner/PipelineRun.js";
import { CliError } from "./CliFailure.js";
import { table } from "./format.js";
import { findRun } from "./findRun.js";

/**
 * What the publishing, endpoint, token, schedule and serve commands do (their grammar is in
 * publishingCommands.ts). Loaded only when one of them runs; the server only by `serve`.
 */
const out = (text: string): void => void process.stdout.write(`${text}\n`);

function isLoopback(host: string): boolean {
  return host === "127.0.0.1" || host === "::1" || host === "localhost" || host.startsWith("127.");
}

async function parseParams(ws: Workspace, target: ScheduleTarget, texts: readonly string[]): Promise<Record<string, string | number | boolean>> {
  const { pipeline } = await resolveTarget(ws, target);
  return parseRunAssignments(pipeline.parameters.map((p) => new PipelineParameter(p.name, p.defaultValue)), texts);
}

async function followRun(run: PipelineRun): Promise<void> {
  out(`run ${run.id}`);
  const view = await run.waitForCompletion({ showOutput: true });
  out(`run ${view.runId} ${view.status}`);
  if (view.status !== "completed") process.exitCode = 1;
}

export const serve = async (opts: { host: string; port: number; token: string[]; corsOrigin: string[]; maxRunningRuns: number; maxQueuedRuns: number; schedules: boolean }) => {
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) throw new CliError({ reason: "port-invalid", port: opts.port });
  for (const [flag, n] of [["--max-running-runs", opts.maxRunningRuns], ["--max-queued-runs", opts.maxQueuedRuns]] as const) {
    if (!Number.isInteger(n) || n < 1) throw new CliError({ reason: "count-invalid", flag });
  }
  const ws = await Workspace.fromConfig();
  if (!isLoopback(opts.host)) process.stderr.write(`pipebook serve: warning: listening on ${opts.host}, reachable from other machines; every API call still needs a token\n`);
  const { startServer } = await import("../server/startServer.js");
  const server = await startServer({
    workspace: ws, host: opts.host, port: opts.port, tokens: opts.token, corsOrigins: opts.corsOrigin,
    maxRunningRuns: opts.maxRunningRuns, maxQueuedRuns: opts.maxQueuedRuns, schedules: opts.schedules,
  }).catch((err: unknown) => {
    const code = (err as { code?: unknown }).code;
    if (code === "EADDRINUSE") throw new CliError({ reason: "port-in-use", port: opts.port, host: opts.host });
    if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") throw new CliError({ reason: "host-unknown", host: opts.host });
    throw err;
  });
  out(`pipebook serve: listening on ${server.url} (workspace ${ws.name}, ${ws.dir})`);
  out(`pipebook serve: web page ${server.url}/  ·  API ${server.url}/openapi.json`);
  if (opts.token.length === 0 && !new ApiTokens(ws).list().some((t) => t.revokedAt === null)) {
    out("pipebook serve: no API tokens yet; every call will get 401 until you make one: pipebook token create --name NAME");
  }
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      void server.close().then(resolve, resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await ws.close();
};

export const publish = async (runArg: string, opts: { name: string; version: string; description: string; endpoint?: string }) => {
  const ws = await Workspace.fromConfig();
  const published = await PublishedPipeline.fromRun(ws, await findRun(ws, runArg), opts);
  out(`published pipeline ${published.id} (${published.name} ${published.version})  POST ${published.endpoint}`);
  if (opts.endpoint) {
    const endpoint = await PipelineEndpoint.publish(ws, { name: opts.endpoint, pipeline: published, description: opts.description });
    out(`endpoint ${endpoint.name} version ${endpoint.defaultVersion} (default)  POST ${endpoint.endpoint}`);
  }
};

export const listPipelines = async (opts: { all?: boolean }) => {
  const ws = await Workspace.fromConfig();
  const list = PublishedPipeline.list(ws, { includeDisabled: opts.all ?? false });
  if (list.length === 0) return out("no published pipelines (publish one: pipebook publish RUN --name NAME)");
  out(table(["id", "name", "version", "enabled", "parameters", "published"], list.map((p) => [p.id, p.name, p.version, p.enabled ? "yes" : "no", p.parameters.map((x) => `${x.name}=${JSON.stringify(x.defaultValue)}`).join(" "), p.createdAt.slice(0, 19)])));
};

export const setPipelineEnabled = async (verb: "disable" | "enable", id: string) => {
  const p = await PublishedPipeline.get(await Workspace.fromConfig(), id);
  await (verb === "disable" ? p.disable() : p.enable());
  out(`pipeline ${p.id} (${p.name}) ${verb}d`);
};

export const runPipeline = async (id: string, opts: { experiment: string; param: string[] }) => {
  const ws = await Workspace.fromConfig();
  const params = await parseParams(ws, { kind: "pipeline", id }, opts.param);
  await followRun(await (await PublishedPipeline.get(ws, id)).submit(opts.experiment, { parameterAssignments: params, source: "cli" }));
};

export const listEndpoints = async () => {
  const list = PipelineEndpoint.list(await Workspace.fromConfig());
  if (list.length === 0) return out("no endpoints (make one: pipebook publish RUN --name NAME --endpoint NAME)");
  out(table(["endpoint", "default", "versions", "description"], list.map((e) => [e.name, e.defaultVersion, e.versions.map((v) => `${v.version}→${v.pipelineId.slice(0, 8)}`).join(" "), e.description])));
};

export const addEndpointVersion = async (name: string, pipelineId: string, opts: { default?: boolean }) => {
  const ws = await Workspace.fromConfig();
  const pipeline = await PublishedPipeline.get(ws, pipelineId);
  const existing = PipelineEndpoint.list(ws).find((e) => e.name === name);
  const version = existing ? await existing.add(pipeline, { makeDefault: opts.default ?? false }) : (await PipelineEndpoint.publish(ws, { name, pipeline })).defaultVersion;
  out(`endpoint ${name} version ${version} → pipeline ${pipeline.id}`);
};

export const setEndpointDefault = async (name: string, version: string) => {
  const endpoint = await PipelineEndpoint.get(await Workspace.fromConfig(), name);
  await endpoint.setDefaultVersion(version);
  out(`endpoint ${name} default version is now ${endpoint.defaultVersion}`);
};

export const runEndpoint = async (name: string, opts: { experiment: string; version?: string; param: string[] }) => {
  const ws = await Workspace.fromConfig();
  const target: ScheduleTarget = { kind: "endpoint", name, ...(opts.version !== undefined && { version: opts.version }) };
  const params = await parseParams(ws, target, opts.param);
  const endpoint = await PipelineEndpoint.get(ws, name);
  await followRun(await endpoint.submit(opts.experiment, { parameterAssignments: params, source: "cli", ...(opts.version !== undefined && { pipelineVersion: opts.version }) }));
};

export const createToken = async (opts: { name: string; scope: string[] }) => {
  const bad = opts.scope.filter((s) => !isScope(s));
  if (bad.length > 0) throw new CliError({ reason: "scope-unknown", scopes: bad, known: SCOPES });
  const scopes: Scope[] = opts.scope.length > 0 ? opts.scope.filter(isScope) : ["read", "runs:submit"];
  const { token: secret, info } = new ApiTokens(await Workspace.fromConfig()).create(opts.name, scopes);
  out(secret);
  process.stderr.write(`token ${info.id} "${info.name}" with scopes ${info.scopes.join(", ")}; it is shown only now\n`);
};

export const listTokens = async () => {
  const list = new ApiTokens(await Workspace.fromConfig()).list();
  if (list.length === 0) return out("no tokens (make one: pipebook token create --name NAME)");
  out(table(["id", "name", "scopes", "created", "revoked"], list.map((t) => [t.id, t.name, t.scopes.join(","), t.createdAt.slice(0, 19), t.revokedAt?.slice(0, 19) ?? ""])));
};

export const revokeToken = async (id: string) => {
  new ApiTokens(await Workspace.fromConfig()).revoke(id);
  out(`token ${id} revoked`);
};

export const createSchedule = async (opts: { name: string; pipeline?: string; endpoint?: string; version?: string; experiment: string; cron?: string; timezone?: string; watch?: string; poll: number; param: string[] }) => {
  if ((opts.pipeline === undefined) === (opts.endpoint === undefined)) throw new CliError({ reason: "one-of", options: ["--pipeline ID", "--endpoint NAME"] });
  if ((opts.cron === undefined) === (opts.watch === undefined)) throw new CliError({ reason: "one-of", options: ["--cron EXPRESSION", "--watch DATASTORE:PATH"] });
  const target: ScheduleTarget = opts.pipeline !== undefined ? { kind: "pipeline", id: opts.pipeline } : { kind: "endpoint", name: opts.endpoint!, ...(opts.version !== undefined && { version: opts.version }) };
  let trigger: ScheduleTrigger;
  if (opts.cron !== undefined) trigger = { kind: "cron", cron: opts.cron, ...(opts.timezone !== undefined && { timezone: opts.timezone }) };
  else {
    const colon = opts.watch!.indexOf(":");
    if (colon <= 0) throw new CliError({ reason: "watch-invalid", watch: opts.watch! });
    trigger = { kind: "datastore", datastore: opts.watch!.slice(0, colon), path: opts.watch!.slice(colon + 1), pollSeconds: opts.poll };
  }
  const ws = await Workspace.fromConfig();
  const created = await Schedule.create(ws, { name: opts.name, target, experiment: opts.experiment, trigger, parameterAssignments: await parseParams(ws, target, opts.param) });
  out(`schedule ${created.id} (${created.name}) runs ${describeTarget(target)} ${trigger.kind === "cron" ? `on "${trigger.cron}"` : `when ${trigger.datastore}:${trigger.path} changes`}; it fires while pipebook serve runs`);
};

export const listSchedules = async () => {
  const list = Schedule.list(await Workspace.fromConfig());
  if (list.length === 0) return out("no schedules (make one: pipebook schedule create ...)");
  out(table(["id", "name", "enabled", "runs", "when", "experiment", "last tick"], list.map((s) => [
    s.id, s.name, s.enabled ? "yes" : "no", describeTarget(s.target),
    s.trigger.kind === "cron" ? `cron ${s.trigger.cron}` : `watch ${s.trigger.datastore}:${s.trigger.path}`, s.experiment, s.lastTickAt?.slice(0, 19) ?? "",
  ])));
};

export const setScheduleEnabled = async (verb: "disable" | "enable", id: string) => {
  const s = await Schedule.get(await Workspace.fromConfig(), id);
  await (verb === "disable" ? s.disable() : s.enable());
  out(`schedule ${s.id} ${verb}d`);
};

export const scheduleEvents = async (id: string) => {
  const s = await Schedule.get(await Workspace.fromConfig(), id);
  const events = s.events();
  if (events.length === 0) return out(`schedule ${id} has not fired yet`);
  out(table(["at", "event", "run", "detail"], events.map((e) => [e.at.slice(0, 19), e.kind, e.runId ?? "", e.detail])));
};
