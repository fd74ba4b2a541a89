import { fileURLToPath } from "node:url";
import { unreachable } from "../errors/PipebookError.js";
import type { JobArg, StepJob } from "./StepJob.js";

/** engine/runtime on this machine: the pipebook_run helpers steps import without installing anything. */
export const RUNTIME_DIR = fileURLToPath(new URL("../../runtime/", import.meta.url));

/** tsx's loader as this machine resolves it, for TypeScript node scripts run here (JobPaths.tsLoader); undefined where tsx is not installed. */
export const HOST_TS_LOADER = (() => {
  try {
    return import.meta.resolve("tsx");
  } catch {
    return undefined;
  }
})();

/** Where a target laid the job's data out, as the step's process sees it. */
export interface JobPaths {
  readonly inputs: ReadonlyMap<string, string>;
  readonly outputs: ReadonlyMap<string, string>;
  readonly metricsFile: string;
  /** engine/runtime as the process sees it (a container sees a bind of it). */
  readonly runtimeDir: string;
  /** The variables the process inherits besides the job's (the engine's own for local steps; none in a container). */
  readonly inherited: Readonly<Record<string, string>>;
  /** How to start Node for node steps (process.execPath locally, "node" in an image). */
  readonly node: string;
  /** Loader argument for TypeScript node scripts, where the target has one. */
  readonly tsLoader?: string;
}

/**
 * Turns a job into the argv and environment of its process, for any target: placeholders
 * become the target's paths, and the step learns them from PIPEBOOK_* variables too. The one
 * place that defines what a step's process sees, so local, container and remote steps agree.
 */
export function resolveJob(job: StepJob, paths: JobPaths): { argv: string[]; env: Record<string, string> } {
  const args = job.args.map((a) => concreteArg(a, paths));
  const runtimeEnv = job.environment.runtime.env ?? {};
  const env: Record<string, string> = {
    ...paths.inherited,
    ...runtimeEnv,
    ...job.env,
    PIPEBOOK_METRICS_FILE: paths.metricsFile,
    PYTHONUNBUFFERED: "1",
    PYTHONDONTWRITEBYTECODE: "1",
    PYTHONPATH: joinPath(`${paths.runtimeDir}/python`, paths.inherited["PYTHONPATH"]),
    NODE_PATH: joinPath(`${paths.runtimeDir}/node`, paths.inherited["NODE_PATH"]),
  };
  const datasets: Record<string, string> = {};
  for (const input of job.inputs) {
    const path = paths.inputs.get(input.name) ?? "";
    env[`PIPEBOOK_INPUT_${envKey(input.name)}`] = path;
    if (input.layout === "mount" || input.layout === "download") datasets[input.name] = path;
  }
  // What `input_datasets` (Python) and `inputDatasets` (Node) of pipebook_run read.
  if (Object.keys(datasets).length > 0) env["PIPEBOOK_INPUT_DATASETS"] = JSON.stringify(datasets);
  for (const [name, path] of paths.outputs) env[`PIPEBOOK_OUTPUT_${envKey(name)}`] = path;
  const program = programArgv(job, paths);
  // A shell command line takes its arguments quoted into the line; anything else appends them.
  const argv = job.program.kind === "shell" ? [...program.slice(0, 2), [program[2]!, ...args.map(shellQuote)].join(" ")] : [...program, ...args];
  return { argv, env };
}

function programArgv(job: StepJob, paths: JobPaths): string[] {
  const p = job.program;
  const interpreter = job.environment.runtime.interpreter;
  switch (p.kind) {
    case "python":
      return [interpreter ?? "python3", "-u", p.script];
    case "node": {
      const ts = /\.(c|m)?tsx?$/.test(p.script);
      return [interpreter ?? paths.node, ...(ts && paths.tsLoader ? ["--import", paths.tsLoader] : []), p.script];
    }
    case "shell":
      return ["/bin/sh", "-c", p.command];
    case "exec":
      return [...p.argv];
    default:
      return unreachable(p);
  }
}

function concreteArg(a: JobArg, paths: JobPaths): string {
  switch (a.kind) {
    case "text":
      return a.value;
    case "input":
      return paths.inputs.get(a.name) ?? "";
    case "output":
      return paths.outputs.get(a.name) ?? "";
    default:
      return unreachable(a);
  }
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** PIPEBOOK_INPUT_<KEY>: a data or parameter name as an environment variable suffix. */
export function envKey(name: string): string {
  return name.replace(/[^A-Za-z0-9]/g, "_").toUpperCase();
}

function joinPath(first: string, rest: string | undefined): string {
  return rest ? `${first}:${rest}` : first;
}
