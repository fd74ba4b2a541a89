import { mkdirSync, statSync, symlinkSync } from "node:fs";
import { cp, mkdir } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ParameterValue, StepStatus } from "../contract/runView.js";
import type { ComputeTarget, LaunchOutcome } from "../compute/ComputeTarget.js";
import { DataReference } from "../dsl/data.js";
import { DatasetInput, type DatasetContentRef } from "../dsl/Dataset.js";
import { CommandStep, NodeScriptStep, PythonScriptStep } from "../dsl/steps.js";
import type { Workspace } from "../dsl/Workspace.js";
import { summarizeDecision } from "../explain/formatDecision.js";
import { asDigest } from "../fingerprint/digest.js";
import { hashTree } from "../fingerprint/hashTree.js";
import { decideReuse } from "./decideReuse.js";
import { describeOutcome } from "./describeOutcome.js";
import { killGroup } from "../compute/LocalCompute.js";
import type { PreparedStep } from "./prepareStep.js";
import { processStart } from "./processIdentity.js";
import type { RunEvent } from "./RunEvent.js";
import { concreteArgument, stepKey } from "./stepKey.js";
import { MetricsTail } from "./MetricsTail.js";
import { StepLogs } from "./StepLogs.js";

const RUNTIME_DIR = fileURLToPath(new URL("../../runtime/", import.meta.url));
const TSX_LOADER = (() => {
  try {
    return import.meta.resolve("tsx");
  } catch {
    return undefined;
  }
})();

/** What one run shares with its steps while it executes. */
export interface RunContext {
  readonly ws: Workspace;
  readonly runId: string;
  readonly experiment: string;
  readonly parameters: Readonly<Record<string, ParameterValue>>;
  readonly regenerateOutputs: boolean;
  readonly signal: AbortSignal;
  /** Data name → where the producing step left it and its content digest. */
  readonly data: Map<string, { path: string; digest: string }>;
  /**
   * The submitting process's environment, copied once per run on first use: process.env is slow
   * to copy, and a run whose steps are all reused never needs it.
   */
  readonly baseEnv: () => Readonly<Record<string, string>>;
  readonly emit: (event: RunEvent) => void;
  /** Runs a store write whose failure must not stop the run (it is reported at the run's end). */
  readonly record: (write: () => void) => void;
}

export interface StepResult {
  readonly status: Extract<StepStatus, "completed" | "reused" | "failed" | "canceled">;
  /** For failed and canceled steps: the sentence a person reads. */
  readonly error?: string;
}

/** Decides reuse for one step and, on a miss, runs it on its compute target. */
export async function runStep(ctx: RunContext, p: PreparedStep, stepRunId: string, logDir: string, compute: ComputeTarget): Promise<StepResult> {
  const { ws, runId } = ctx;
  const step = p.step;
  const now = (): string => new Date().toISOString();
  const inputPaths = new Map<string, string>();
  const inputDigests: Record<string, string> = {};
  const datasets = new Map<DatasetInput, DatasetContentRef>();
  for (const input of step.inputs) {
    if (input instanceof DataReference) {
      const tree = await hashTree(input.path, { cache: ws.statCache, pool: ws.hashPool });
      inputPaths.set(input.name, input.path);
      inputDigests[input.name] = tree.digest;
    } else if (input instanceof DatasetInput) {
      // Only the digest is needed to decide; the data is laid out below, for a step that runs.
      const content = await input.dataset.content(ws);
      datasets.set(input, content);
      inputDigests[input.name] = content.digest;
    } else {
      const produced = ctx.data.get(input.name);
      if (!produced) throw new Error(`bug: input ${input.name} of ${step.name} has no producer result`);
      inputPaths.set(input.name, produced.path);
      inputDigests[input.name] = produced.digest;
    }
  }
  const { components, digest } = stepKey({
    step,
    source: p.source,
    hashPaths: p.hashPaths,
    parameters: ctx.parameters,
    inputDigests,
    interpreterVersion: p.interpreter?.version,
    compute,
  });
  const verdict = await decideReuse({
    ws, runId, experiment: ctx.experiment, stepName: step.name, digest, components,
    allowReuse: step.allowReuse, regenerateOutputs: ctx.regenerateOutputs,
  });
  if (verdict.reuse) {
    const at = now();
    ws.runs.transaction(() => {
      ws.runs.recordOutputs(stepRunId, verdict.outputs);
      ws.runs.updateStep(stepRunId, {
        status: "reused", keyDigest: digest, keyComponents: components, decision: verdict.decision,
        reusedFrom: verdict.origin.id, startedAt: at, endedAt: at,
      });
    });
    for (const o of verdict.outputs) ctx.data.set(o.name, { path: o.path, digest: o.digest ?? "" });
    ctx.emit({ type: "step-status", runId, step: step.name, status: "reused", detail: summarizeDecision(verdict.decision) });
    return { status: "reused" };
  }

  // A miss: lay out the working copy, outputs and logs, then launch.
  const workDir = join(logDir, "work");
  // Metadata calls are made synchronously: each async one costs a thread-pool round trip,
  // which is most of the engine's per-step overhead for short steps.
  mkdirSync(workDir, { recursive: true });
  if (p.manifest) {
    const files = JSON.parse(await ws.blobs.readText(p.manifest)) as Record<string, string>;
    const dirs = new Set(Object.keys(files).map((rel) => dirname(join(workDir, rel))));
    await Promise.all([...dirs].map((d) => mkdir(d, { recursive: true })));
    await Promise.all(Object.entries(files).map(([rel, d]) => ws.blobs.copyOut(asDigest(d), join(workDir, rel))));
  }
  for (const [input, content] of datasets) {
    const shared = await input.dataset.layOut(ws, content);
    if (input.mode === "mount") {
      inputPaths.set(input.name, shared);
      continue;
    }
    // A downloaded dataset is the step's own copy (a clone where the filesystem can), next to its code.
    const own = statSync(shared).isDirectory() ? join(workDir, "datasets", input.name) : join(workDir, "datasets", input.name, basename(shared));
    await cp(shared, own, { recursive: true });
    inputPaths.set(input.name, own);
  }
  if (step.kind === "node") {
    mkdirSync(join(workDir, "node_modules"), { recursive: true });
    symlinkSync(join(RUNTIME_DIR, "node", "pipebook_run"), join(workDir, "node_modules", "pipebook_run"), "dir");
  }
  // Step run ids are new for every run, so these folders never hold anything yet.
  const outputPaths = new Map(step.outputs.map((o) => [o.name, join(ws.dataDir, stepRunId, o.name)]));
  for (const dir of outputPaths.values()) mkdirSync(dir, { recursive: true });
  const metricsFile = join(logDir, "metrics.jsonl");
  const args = step.arguments.map((a) => concreteArgument(a, ctx.parameters, { inputs: inputPaths, outputs: outputPaths }, step));
  const baseEnv = ctx.baseEnv();
  const env: Record<string, string> = {
    ...baseEnv,
    ...step.environment.envVars,
    PIPEBOOK_RUN_ID: runId,
    PIPEBOOK_STEP_RUN_ID: stepRunId,
    PIPEBOOK_STEP_NAME: step.name,
    PIPEBOOK_EXPERIMENT: ctx.experiment,
    PIPEBOOK_METRICS_FILE: metricsFile,
    PYTHONUNBUFFERED: "1",
    PYTHONDONTWRITEBYTECODE: "1",
    PYTHONPATH: joinPath(join(RUNTIME_DIR, "python"), baseEnv["PYTHONPATH"]),
    NODE_PATH: joinPath(join(RUNTIME_DIR, "node"), baseEnv["NODE_PATH"]),
  };
  for (const [name, path] of inputPaths) env[`PIPEBOOK_INPUT_${envKey(name)}`] = path;
  // What `input_datasets` (Python) and `inputDatasets` (Node) of pipebook_run read.
  if (datasets.size > 0) env["PIPEBOOK_INPUT_DATASETS"] = JSON.stringify(Object.fromEntries([...datasets.keys()].map((i) => [i.name, inputPaths.get(i.name)!])));
  for (const [name, path] of outputPaths) env[`PIPEBOOK_OUTPUT_${envKey(name)}`] = path;
  for (const param of step.parameters) env[`PIPEBOOK_PARAM_${envKey(param.name)}`] = String(ctx.parameters[param.name] ?? param.defaultValue);

  // Marked running when the process starts (one write with its pid): a step waiting for a
  // GPU is still queued.
  let startedAt = now();
  const decided = { keyDigest: digest, keyComponents: components, decision: verdict.decision };

  const logs = new StepLogs(logDir);
  let storeError: unknown;
  const metrics = new MetricsTail(metricsFile, (rows) => {
    ws.runs.addMetrics(runId, stepRunId, rows);
    for (const m of rows) ctx.emit({ type: "step-metric", runId, step: step.name, name: m.name, value: m.value });
  });
  const poll = setInterval(() => void metrics.read(), 300);
  let outcome: LaunchOutcome;
  try {
    outcome = await compute.launch(
      { stepName: step.name, argv: argvOf(p, args), cwd: workDir, env, timeoutMs: step.timeoutSeconds && step.timeoutSeconds * 1000, gpus: step.runconfig.gpus },
      {
        // The process start is the step's start: time spent waiting for a GPU is not its duration.
        onStart: (pid) => {
          startedAt = now();
          try {
            ws.runs.updateStep(stepRunId, { ...decided, status: "running", pid, pidStart: processStart(pid), startedAt });
          } catch (err) {
            // A step the store does not know is running could not be stopped after a crash: stop it now.
            storeError = err;
            killGroup(pid, "SIGKILL");
            return;
          }
          ctx.emit({ type: "step-status", runId, step: step.name, status: "running", detail: summarizeDecision(verdict.decision) });
        },
        onOutput: (stream, chunk) => {
          logs.write(stream, chunk);
          ctx.emit({ type: "step-log", runId, step: step.name, stream, text: chunk.toString("utf8") });
        },
      },
      ctx.signal,
    );
  } finally {
    clearInterval(poll);
    logs.close();
  }
  await metrics.read();
  if (storeError !== undefined) throw storeError;
  const endedAt = now();
  const durationMs = Date.parse(endedAt) - Date.parse(startedAt);
  const error = describeOutcome(step.name, outcome, logs.lastErrorLine());
  if (error) {
    const status = outcome.reason === "canceled" ? "canceled" : "failed";
    ctx.emit({ type: "step-status", runId, step: step.name, status, detail: error, durationMs });
    // The step's own failure is the news; a store that cannot take it (full disk) is reported
    // by the run, which keeps going.
    ctx.record(() =>
      ws.runs.updateStep(stepRunId, {
        ...decided, status, endedAt, error, pid: null,
        ...(outcome.reason === "exit-non-zero" && outcome.code !== null && { exitCode: outcome.code }),
      }),
    );
    return { status, error };
  }
  const produced: { name: string; path: string; digest: string }[] = [];
  for (const [name, path] of outputPaths) {
    const tree = await hashTree(path, { cache: ws.statCache, pool: ws.hashPool });
    produced.push({ name, path, digest: tree.digest });
  }
  ws.runs.transaction(() => {
    ws.runs.recordOutputs(stepRunId, produced);
    ws.runs.updateStep(stepRunId, { status: "completed", endedAt, exitCode: 0, pid: null });
  });
  for (const o of produced) ctx.data.set(o.name, { path: o.path, digest: o.digest });
  ctx.emit({ type: "step-status", runId, step: step.name, status: "completed", durationMs });
  return { status: "completed" };
}

function argvOf(p: PreparedStep, args: string[]): string[] {
  const step = p.step;
  if (step instanceof PythonScriptStep) return [p.interpreter?.path ?? "python3", "-u", step.scriptName, ...args];
  if (step instanceof NodeScriptStep) {
    const ts = /\.(c|m)?tsx?$/.test(step.scriptName);
    return [process.execPath, ...(ts && TSX_LOADER ? ["--import", TSX_LOADER] : []), step.scriptName, ...args];
  }
  if (step instanceof CommandStep) {
    if (typeof step.command !== "string") return [...step.command, ...args];
    return ["/bin/sh", "-c", [step.command, ...args.map(shellQuote)].join(" ")];
  }
  throw new Error(`bug: no argv for step kind ${step.kind}`);
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function envKey(name: string): string {
  return name.replace(/[^A-Za-z0-9]/g, "_").toUpperCase();
}

function joinPath(first: string, rest: string | undefined): string {
  return rest ? `${first}:${rest}` : first;
}
