import { readFileSync } from "node:fs";
import { join } from "node:path";
import { openRunHistory, type RunHistory } from "../workspace/openRunHistory.js";
import { CliError } from "./CliFailure.js";
import { writeStdout } from "./writeStdout.js";

// runs, show, logs and why on the local run history (inspectCommands.ts sends a project that names
// a server to remoteCommands.ts instead). With the CLI bundle built, this module and all it loads
// (the store, its formatting, orphan recovery, better-sqlite3's JavaScript) are one file,
// dist/cli/inspect.bundle.cjs (engine/scripts/buildCli.mjs), and the helpers below cost nothing
// until called.
//
// Each command loads the helpers it uses, no more: `runs` words no decision, `why` prints no table
// (from the separate files, each module an ESM import is a file read, a resolve and a compile).
const findRun = async (...args: Parameters<typeof import("./findRun.js").findRun>): Promise<string> => (await import("./findRun.js")).findRun(...args);
const decisions = (): Promise<typeof import("../explain/formatDecision.js")> => import("../explain/formatDecision.js");
const format = (): Promise<typeof import("./format.js")> => import("./format.js");

/**
 * Ends a local command's process once it has printed its answer, as `pipebook run` does
 * (docs/run-path.md): a natural exit would still close the store, and SQLite's last connection
 * then checkpoints the WAL into the database and deletes it (the next command makes it again),
 * and the heap is torn down page by page. These commands only read (orphan recovery, on the way
 * in, commits before they print), the WAL stays for the next process as after a killed engine,
 * and stdout is written synchronously (writeStdout): nothing is lost.
 */
function leave(): never {
  process.exit(0);
}

function readLog(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

function findStep(ws: RunHistory, runId: string, name: string) {
  const steps = ws.runs.getSteps(runId);
  const step = steps.find((s) => s.name === name);
  if (!step) throw new CliError({ reason: "step-unknown", runId, step: name, steps: steps.map((s) => s.name) });
  return step;
}

export async function localRuns(options: { experiment?: string; limit: number }): Promise<void> {
  const ws = await openRunHistory();
  const { runLine, table } = await format();
  const runs = ws.runs.listRuns({ limit: options.limit, ...(options.experiment && { experiment: options.experiment }) });
  writeStdout(runs.length === 0 ? `no runs yet in ${ws.dir}\n` : `${table(["run", "experiment", "status", "created", "time", "source"], runs.map(runLine))}\n`);
  leave();
}

export async function localShow(id: string): Promise<void> {
  const ws = await openRunHistory();
  const run = ws.runs.getRun(await findRun(ws, id))!;
  const [{ stepLine, table }, { summarizeDecision }] = await Promise.all([format(), decisions()]);
  const out: string[] = [
    `run        ${run.id}`,
    `experiment ${run.experiment}`,
    `status     ${run.status}${run.error ? ` — ${run.error}` : ""}`,
    `created    ${run.createdAt}  (source: ${run.source})`,
    `parameters ${Object.keys(run.parameters).length > 0 ? Object.entries(run.parameters).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ") : "(none)"}`,
  ];
  if (run.git) out.push(`git        ${run.git.repo} ${run.git.branch} @ ${run.git.commit.slice(0, 12)}${run.git.dirty ? " (dirty)" : ""}`);
  const steps = ws.runs.getSteps(run.id);
  out.push("", table(["step", "status", "time", "compute", "why"], steps.map((s) => stepLine(s, s.decision ? summarizeDecision(s.decision) : (s.error ?? "")))));
  for (const s of steps) {
    const metrics = ws.runs.getMetrics(s.reusedFrom ?? s.id);
    const outputs = ws.runs.getOutputs(s.id);
    if (s.error && s.status === "failed") out.push("", `${s.name}: ${s.error}`);
    if (metrics.length > 0) {
      const byName = new Map<string, (number | string)[]>();
      for (const m of metrics) byName.set(m.name, [...(byName.get(m.name) ?? []), m.value]);
      out.push("", `${s.name} metrics: ${[...byName].map(([k, v]) => `${k}=${v.length === 1 ? v[0] : `[${v.join(", ")}]`}`).join("  ")}`);
    }
    for (const o of outputs) out.push(`${s.name} output ${o.name}: ${o.path} (${o.digest?.slice(0, 12) ?? "no hash"})`);
  }
  writeStdout(`${out.join("\n")}\n`);
  leave();
}

export async function localLogs(id: string, stepName: string | undefined): Promise<void> {
  const ws = await openRunHistory();
  const runId = await findRun(ws, id);
  const steps = stepName ? [findStep(ws, runId, stepName)] : ws.runs.getSteps(runId);
  for (const s of steps) {
    const origin = s.reusedFrom ? ws.runs.getStep(s.reusedFrom) : undefined;
    // Read synchronously: node:fs/promises loads Node's streams and readline (~20 modules) into every command.
    const text = readLog(join((origin ?? s).logDir, "output.log"));
    if (!stepName) writeStdout(`==> ${s.name} (${s.status}) <==\n`);
    if (origin) writeStdout(`(reused: log of step run ${origin.id})\n`);
    writeStdout(text ?? (s.status === "skipped" ? "(not run)\n" : "(no output)\n"));
  }
  leave();
}

export async function localWhy(id: string, stepName: string): Promise<void> {
  const ws = await openRunHistory();
  const runId = await findRun(ws, id);
  const s = findStep(ws, runId, stepName);
  const lines = s.decision ? (await decisions()).explainDecision(s.decision) : [`step ${s.name} is ${s.status}: no decision yet`];
  writeStdout(`${s.name} in run ${runId}: ${s.status}\n${lines.join("\n")}\n`);
  if (s.keyDigest) writeStdout(`key ${s.keyDigest}\n`);
  leave();
}
