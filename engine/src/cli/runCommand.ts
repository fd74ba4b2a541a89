import { constants } from "node:os";
import { basename, extname } from "node:path";
import { isTerminalRunStatus, type RunStatus } from "../contract/runView.js";
import { Experiment } from "../dsl/Experiment.js";
import { summarizeDecision } from "../explain/formatDecision.js";
import { formatEvent } from "../runner/printEvent.js";
import { readGitInfo } from "../runner/readGitInfo.js";
import { parseRunAssignments } from "../runner/resolveParameters.js";
import { duration, stepLine, table } from "./format.js";
import { loadPipelineFile } from "./loadPipelineFile.js";

const CANCEL_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export interface RunOptions {
  readonly experiment?: string;
  readonly param?: string[];
  readonly regenerate?: boolean;
  readonly concurrency?: number;
  readonly quiet?: boolean;
}

/** `pipebook run FILE`: submit, stream progress as `[done/total]` lines, print a summary. */
export async function runCommand(file: string, options: RunOptions): Promise<void> {
  // Asked now, while the file and the engine load: the run asks for the same repository's facts
  // and gets this answer (readGitInfo shares it), instead of the process waiting for git after a
  // run that reused everything. Started from this thread, while the process is small, rather
  // than from a worker thread (see readGitInfo).
  void readGitInfo(process.cwd(), { from: "this-thread" });
  const { pipeline, experiment } = await loadPipelineFile(file);
  const ws = pipeline.workspace;
  const assignments = parseRunAssignments(pipeline.parameters, options.param ?? []);
  const name = options.experiment ?? experiment ?? basename(file, extname(file)).replace(/[^A-Za-z0-9_.-]/g, "_");
  // A Ctrl-C while a remote submit uploads and posts: the run is canceled as soon as it has an id.
  const early = ws.remote ? signalsDuringSubmit() : undefined;
  // Only a workspace with a server submits remotely: the remote client's modules load only then,
  // and before the submit: the run streams its events from the moment it is made, and any that
  // went by while the follower was still being imported would be lost (a fast step's log lines).
  const follower = ws.remote ? await Promise.all([import("../remote/RemoteRun.js"), import("./remoteCommands.js")]) : undefined;
  const run = await new Experiment(ws, name)
    .submit(pipeline, {
      source: "cli",
      parameterAssignments: assignments,
      ...(options.regenerate && { regenerateOutputs: true }),
      ...(options.concurrency !== undefined && { concurrency: options.concurrency }),
    })
    .finally(() => early?.off());
  if (follower) {
    const [{ RemoteRun }, { followRemoteRun }] = follower;
    if (run instanceof RemoteRun) return followRemoteRun(run, name, options.quiet ?? false, early?.received());
  }
  const total = pipeline.graph.steps.length;
  let done = 0;
  process.stdout.write(`submitted run ${run.id} (experiment ${name}, ${total} steps) in workspace ${ws.dir}\n`);
  // The run's end as an event rather than waitForCompletion's view: that view reads a preview of
  // every output (parsing CSVs, say), which this printer never shows.
  let ended: (end: { status: RunStatus; error?: string }) => void = () => undefined;
  const end = new Promise<{ status: RunStatus; error?: string }>((resolve) => (ended = resolve));
  run.onEvent((e) => {
    if (e.type === "run-status" && isTerminalRunStatus(e.status)) ended({ status: e.status, ...(e.error !== undefined && { error: e.error }) });
    if (e.type === "step-log" && options.quiet) return;
    if (e.type === "step-status" && e.status !== "running" && e.status !== "queued") done++;
    const line = formatEvent(e);
    if (line === undefined) return;
    process.stdout.write(e.type === "step-status" ? `[${done}/${total}] ${line}\n` : `${line}\n`);
  });
  // Ctrl-C or SIGTERM cancels the run (its steps are stopped, it ends canceled) and the summary
  // is printed; a second signal leaves at once (the launcher stops the steps as this process goes).
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stoppedBy) process.exit(128 + constants.signals[signal]);
    stoppedBy = signal;
    process.stderr.write(`\n${signal}: canceling run ${run.id} (send it again to leave at once)\n`);
    run.cancel();
  };
  for (const signal of CANCEL_SIGNALS) process.on(signal, onSignal);
  const view = await end.finally(() => CANCEL_SIGNALS.forEach((signal) => process.off(signal, onSignal)));
  const steps = ws.runs.getSteps(run.id);
  process.stdout.write(`\n${table(["step", "status", "time", "compute", "why"], steps.map((s) => stepLine(s, s.decision ? summarizeDecision(s.decision) : (s.error ?? ""))))}\n`);
  const reused = steps.filter((s) => s.status === "reused").length;
  const ran = steps.filter((s) => s.status === "completed" || s.status === "failed").length;
  const runRow = ws.runs.getRun(run.id)!;
  process.stdout.write(`\nrun ${run.id} ${view.status} in ${duration(runRow.startedAt, runRow.endedAt)}: ${ran} ran, ${reused} reused${view.error ? ` — ${view.error}` : ""}\n`);
  process.stdout.write(`details: pipebook show ${run.id}   logs: pipebook logs ${run.id} STEP   why: pipebook why ${run.id} STEP\n`);
  // Leave now rather than when the event loop drains: the run's end is in the store with
  // everything about it (its git facts are written before it), and what a natural exit would
  // still do costs a no-op rerun more than the run: SQLite checkpoints the WAL into the database
  // with two fsyncs as its last connection closes, and the heap is torn down page by page. The
  // WAL stays for the next process to read (as after a killed engine, which the store is made
  // for); stdout is written synchronously (a file, a pipe or a terminal on Linux), so no line is lost.
  process.exit(view.status === "completed" ? 0 : stoppedBy ? 128 + constants.signals[stoppedBy] : 1);
}

/** Signals received while a remote submit is under way (a second one leaves at once). */
function signalsDuringSubmit(): { off: () => void; received: () => NodeJS.Signals | undefined } {
  let got: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (got) process.exit(128 + constants.signals[signal]);
    got = signal;
    process.stderr.write(`\n${signal}: the run is canceled on the server as soon as it is submitted (send it again to leave at once)\n`);
  };
  for (const signal of CANCEL_SIGNALS) process.on(signal, onSignal);
  return { off: () => CANCEL_SIGNALS.forEach((signal) => process.off(signal, onSignal)), received: () => got };
}
