import { ApiTokens, CommandStep, Experiment, Pipeline, PipelineData, PipelineParameter, type PublishedPipeline } from "pipebook";
import { startServer, type RunningServer, type ServerOptions } from "pipebook/server";
import { sandbox, type Sandbox } from "../engine/helpers.js";

export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
  readonly text: string;
}

export interface ServerSandbox {
  readonly sb: Sandbox;
  readonly server: RunningServer;
  readonly url: string;
  /** The pipeline published from the first run: steps `train` (parameters lr, mode) → `evaluate`. */
  readonly published: PublishedPipeline;
  readonly firstRunId: string;
  readonly tokens: { readonly admin: string; readonly read: string; readonly submit: string };
  call(method: string, path: string, options?: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<Reply>;
  /** Polls GET /runs/{id} until the run ends; returns the RunView. */
  waitForRun(runId: string, timeoutMs?: number): Promise<Record<string, unknown> & { status: string; steps: { name: string; status: string; metrics: { name: string; points: { value: unknown }[] }[]; logTail?: string }[] }>;
  close(): Promise<void>;
}

/**
 * A pipeline whose parameters reach the step three ways: a file in its output, a metric and
 * its log. `evaluate` reads the output, so the value also crosses a data edge.
 */
export function parameterPipeline(sb: Sandbox): Pipeline {
  const lr = new PipelineParameter("lr", 0.01);
  const mode = new PipelineParameter("mode", "fast");
  const model = new PipelineData("model");
  const train = new CommandStep({
    name: "train",
    parameters: [lr, mode],
    outputs: [model],
    command: [
      'echo "lr=$PIPEBOOK_PARAM_LR mode=$PIPEBOOK_PARAM_MODE" > "$PIPEBOOK_OUTPUT_MODEL/params.txt"',
      'echo "{\\"name\\": \\"lr\\", \\"value\\": $PIPEBOOK_PARAM_LR}" >> "$PIPEBOOK_METRICS_FILE"',
      'echo "trained with lr=$PIPEBOOK_PARAM_LR"',
    ].join("; "),
  });
  const evaluate = new CommandStep({ name: "evaluate", inputs: [model], command: 'echo "evaluated $(cat "$PIPEBOOK_INPUT_MODEL/params.txt")"' });
  void sb;
  return new Pipeline(sb.ws, { steps: [train, evaluate], description: "parameters reach the step" });
}

export async function serverSandbox(options: Omit<ServerOptions, "workspace"> = {}): Promise<ServerSandbox> {
  const sb = await sandbox();
  const run = await new Experiment(sb.ws, "notebook").submit(parameterPipeline(sb));
  const view = await run.waitForCompletion();
  if (view.status !== "completed") throw new Error(`setup run ${view.status}: ${view.error}`);
  const published = await run.publishPipeline({ name: "Trainer", description: "test pipeline", version: "1.0" });
  const tokens = new ApiTokens(sb.ws);
  const t = {
    admin: tokens.create("admin", ["admin"]).token,
    read: tokens.create("reader", ["read"]).token,
    submit: tokens.create("submitter", ["runs:submit"]).token,
  };
  const server = await startServer({ workspace: sb.ws, port: 0, log: () => undefined, ...options });
  const call: ServerSandbox["call"] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    const token = o.token === undefined ? t.admin : o.token;
    if (token !== null) headers["Authorization"] = `Bearer ${token}`;
    let body: string | undefined = o.raw;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers["Content-Type"] ??= "application/json";
    }
    const response = await fetch(`${server.url}${path}`, { method, headers, ...(body !== undefined && { body }) });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  };
  return {
    sb, server, url: server.url, published, firstRunId: run.id, tokens: t, call,
    async waitForRun(runId, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const r = await call("GET", `/runs/${runId}`);
        const v = r.body as { status: string };
        if (["completed", "failed", "canceled"].includes(v.status)) return v as never;
        if (Date.now() > end) throw new Error(`run ${runId} still ${v.status}`);
        await new Promise((res) => setTimeout(res, 50));
      }
    },
    async close() {
      await server.close();
      await sb.close();
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Deterministic PRNG (mulberry32): a failing generated request is reproduced from the seed and its index. */
export function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
