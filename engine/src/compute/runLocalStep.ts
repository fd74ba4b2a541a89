import { mkdirSync, statSync, symlinkSync } from "node:fs";
import { cp } from "node:fs/promises";
import { basename, isAbsolute, join, relative } from "node:path";
import { MetricsTail } from "./MetricsTail.js";
import type { JobIO, LaunchOutcome } from "./Compute.js";
import { detectGpus } from "./GpuInventory.js";
import type { LocalComputeContext } from "./LocalCompute.js";
import { killGroup } from "./processIdentity.js";
import { LOCAL_STEP_MARKER, stopStepProcesses } from "./stopStepProcesses.js";
import { createStepCgroup, killCgroup, removeCgroup, stepCgroupDir, stepCgroups } from "./cgroups.js";
import { HOST_TS_LOADER, resolveJob, RUNTIME_DIR } from "./resolveJob.js";
import { launchSizeProblem } from "./launchSizeProblem.js";
import { StepLauncher } from "./StepLauncher.js";
import type { LaunchRequest } from "./launcherProtocol.js";
import { namespacedLauncher, probeNamespace } from "./readOnlyBinds.js";
import type { StepJob } from "./StepJob.js";
import { unsealTree } from "../datasets/readOnlyTree.js";
import { waitForGpus } from "./waitForGpus.js";
import { traceStep } from "./stepTrace.js";

// What a local step's run needs and its submit does not: LocalCompute imports this module when it
// first warms its launcher or runs a step, so a no-op rerun (which runs no step) loads none of it,
// nor node:child_process with the launcher (docs/run-path.md).

/** Writable views made in this process (their folders exist). */
const madeViews = new Set<string>();

/** Whether `path` is `dir` or inside it. */
function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** Grace between SIGTERM and SIGKILL when a step is stopped. */
const KILL_GRACE_MS = 3000;

/**
 * The launcher started and the workspace's folders sealed in its namespace while a run is
 * submitted (the namespace probe runs without blocking this thread): on a fresh run the
 * launcher's boot and mounts were most of the wait before the first step.
 */
export function warmLocalLauncher(context: LocalComputeContext): void {
  traceStep(undefined, "warm");
  void probeNamespace().then(() => {
    traceStep(undefined, "probed");
    try {
      (context.launcher ?? StepLauncher.shared()).warm(workspaceViews(context));
    } catch {
      // Shows, with its sentence, when a step runs.
    }
  });
}

/**
 * Has the launcher wait in the cgroup of a step that will start soon (the first of a run), so it
 * is born there without a move on its start's path (launcherProtocol.ts ExpectRequest). Never throws.
 */
export function expectLocalStep(context: LocalComputeContext, stepRunId: string): void {
  const cgroups = stepCgroups();
  if ("problem" in cgroups) return;
  try {
    (context.launcher ?? StepLauncher.shared()).expect({ dir: stepCgroupDir(cgroups, stepRunId), home: cgroups.own });
  } catch {
    // The step's own start says what is wrong.
  }
}

/**
 * Runs a job on GPUs granted elsewhere (a pipebook agent, whose server's pool queue gave it
 * `granted` of this machine's `machineGpus`), or, without a grant, on GPUs taken from this
 * machine's own slot queue (LocalCompute.execute).
 */
export async function runLocalStep(
  context: LocalComputeContext, job: StepJob, io: JobIO, signal: AbortSignal,
  { grant, expected, workDir }: { readonly grant?: { readonly gpus: readonly number[]; readonly machineGpus: number }; readonly expected?: string; readonly workDir: string },
): Promise<LaunchOutcome> {
  // Metadata calls are synchronous: each async one costs a thread-pool round trip, which is
  // most of the engine's per-step overhead for short steps.
  mkdirSync(workDir, { recursive: true });
  await io.materializeSnapshot(workDir);
  traceStep(job.stepRunId, "snapshot");
  if (job.kind === "node") {
    mkdirSync(join(workDir, "node_modules"), { recursive: true });
    symlinkSync(join(RUNTIME_DIR, "node", "pipebook_run"), join(workDir, "node_modules", "pipebook_run"), "dir");
  }
  const inputs = new Map<string, string>();
  // Read in place, so bound read-only for the step: earlier steps' outputs, datastore paths, mounted datasets.
  const inPlace: string[] = [];
  for (const input of job.inputs) {
    if (input.layout !== "download") {
      inputs.set(input.name, input.source);
      inPlace.push(input.source);
      continue;
    }
    // A downloaded dataset is the step's own copy (a clone where the filesystem can), next to its
    // code; the shared layout it comes from is sealed, the copy is the step's to change.
    const own = statSync(input.source).isDirectory() ? join(workDir, "datasets", input.name) : join(workDir, "datasets", input.name, basename(input.source));
    await cp(input.source, own, { recursive: true });
    await unsealTree(join(workDir, "datasets", input.name));
    inputs.set(input.name, own);
  }
  // As root, the launcher shows steps the workspace's data folder read-only and a writable view of
  // it, where they write their outputs (compute/readOnlyBinds.ts); inputs elsewhere are bound one by one.
  const views = workspaceViews(context);
  const outputs = new Map(job.outputs.map((name) => [name, views ? join(views.writable, relative(views.data, io.outputDir(name))) : io.outputDir(name)]));
  const readOnly = views ? inPlace.filter((p) => !isInside(p, views.data) && !views.readOnly.some((d) => isInside(p, d))) : inPlace;
  const metricsFile = join(io.stepDir, "metrics.jsonl");
  const resolved = resolveJob(job, {
    inputs, outputs, metricsFile, runtimeDir: RUNTIME_DIR.replace(/\/$/, ""),
    inherited: inheritedEnv(job), node: process.execPath, ...(HOST_TS_LOADER && { tsLoader: HOST_TS_LOADER }),
  });
  const env = resolved.env;
  const argv = resolved.argv;
  const tooBig = launchSizeProblem(argv, env);
  if (tooBig) return { reason: "spawn-failed", message: tooBig };
  // Marks a process tree this machine's launcher started, for recovery (stopStepProcesses).
  env[LOCAL_STEP_MARKER] = "1";

  traceStep(job.stepRunId, "resolved");
  const gpus = grant ? [] : await detectGpus();
  const acquired = grant ? [] : job.resources.gpus > 0 && context.gpuSlots ? await waitForGpus(context.gpuSlots, gpus, job, io, signal) : [];
  if (acquired === undefined) return { reason: "canceled" };
  const held = grant ? [...grant.gpus] : acquired;
  // A step sees only its own GPUs; one that asked for none sees none (no accidental sharing).
  if (gpus.length > 0 || (grant?.machineGpus ?? 0) > 0) Object.assign(env, { CUDA_VISIBLE_DEVICES: held.join(","), NVIDIA_VISIBLE_DEVICES: held.length > 0 ? held.join(",") : "void" });
  const metrics = new MetricsTail(metricsFile, (rows) => io.metrics(rows));
  const poll = setInterval(() => void metrics.read(), 300);
  try {
    // With the cgroup of the step expected next here (Compute.run hints.next), where the launcher waits after this start.
    const cgroup = stepCgroup(job.stepRunId, io, expected !== job.stepRunId ? expected : undefined);
    return await spawnStep(context.launcher ?? StepLauncher.shared(), argv, workDir, env, job.resources.timeoutSeconds, io, signal, cgroup, { readOnly, ...(views && { views }) });
  } finally {
    clearInterval(poll);
    await metrics.finish();
    traceStep(job.stepRunId, "metrics-read");
    context.gpuSlots?.release(acquired);
  }
}

/** The workspace's folders as a launcher in a mount namespace shows them (made once per process); none where it is not in one. */
function workspaceViews(context: LocalComputeContext): LaunchRequest["views"] {
  const dir = context.workspaceDir;
  if (!dir || !namespacedLauncher()) return undefined;
  const views = { data: join(dir, "data"), writable: join(dir, "data-writable"), readOnly: [join(dir, "datasets")] };
  if (!madeViews.has(views.writable)) {
    mkdirSync(views.data, { recursive: true });
    mkdirSync(views.writable, { recursive: true });
    madeViews.add(views.writable);
  }
  return views;
}

/**
 * The step's own cgroup (and the launcher's, to return to after starting it), which holds its
 * whole process tree; where none can be made the step's log says so, once, and what that means.
 */
function stepCgroup(stepRunId: string, io: JobIO, expected: string | undefined): { dir: string; home: string; next?: string } | undefined {
  const cgroups = stepCgroups();
  let problem: string;
  if ("problem" in cgroups) {
    problem = cgroups.problem;
  } else {
    try {
      return { dir: createStepCgroup(cgroups, stepRunId), home: cgroups.own, ...(expected !== undefined && { next: stepCgroupDir(cgroups, expected) }) };
    } catch (err) {
      problem = `cannot make its cgroup: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  io.note(noCgroupNote(problem));
  return undefined;
}

function spawnStep(
  launcher: StepLauncher, argv: string[], cwd: string, env: Record<string, string>, timeoutSeconds: number | undefined, io: JobIO, signal: AbortSignal,
  cgroup: { dir: string; home: string; next?: string } | undefined, extra: Pick<LaunchRequest, "readOnly" | "views">,
): Promise<LaunchOutcome> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve({ reason: "canceled" });
    let pid: number | undefined;
    let stopping: "timeout" | "canceled" | "unrecorded" | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let unrecorded: unknown;
    const stop = (why: "timeout" | "canceled"): void => {
      if (stopping) return;
      stopping = why;
      // Not started yet: it is stopped as soon as its pid is known.
      if (pid === undefined) return;
      killGroup(pid, "SIGTERM");
      const group = pid;
      killTimer = setTimeout(() => {
        killGroup(group, "SIGKILL");
        // Descendants that left the group (setsid) are in the step's cgroup, or, without one,
        // found by the step id they carry: they would otherwise keep running, and keep the
        // step's output pipes (so its end) open.
        if (cgroup) killCgroup(cgroup.dir);
        else stopStepProcesses(new Set([env["PIPEBOOK_STEP_RUN_ID"]!]));
      }, KILL_GRACE_MS);
    };
    const timer = timeoutSeconds === undefined ? undefined : setTimeout(() => stop("timeout"), timeoutSeconds * 1000);
    const onAbort = (): void => stop("canceled");
    signal.addEventListener("abort", onAbort, { once: true });
    launcher.launch(
      {
        argv, cwd, env, ...(cgroup && { cgroup: { dir: cgroup.dir, home: cgroup.home }, ...(cgroup.next !== undefined && { next: cgroup.next }) }),
        ...(extra.readOnly!.length > 0 && { readOnly: extra.readOnly }), ...(extra.views && { views: extra.views }),
      },
      {
        onStarted: (started, cgroupProblem) => {
          traceStep(env["PIPEBOOK_STEP_RUN_ID"], "started-received");
          pid = started;
          if (cgroupProblem !== undefined) {
            cgroup = undefined;
            io.note(noCgroupNote(cgroupProblem));
          }
          try {
            io.started({ kind: "process", pid: started });
          } catch (err) {
            // A step the store does not know is running could not be stopped after a crash: stop it now.
            stopping = "unrecorded";
            unrecorded = err;
          }
          if (stopping) killGroup(started, "SIGKILL");
          traceStep(env["PIPEBOOK_STEP_RUN_ID"], "started-recorded");
        },
        onOutput: (stream, chunk) => io.output(stream, chunk),
        onEnd: (end) => {
          traceStep(env["PIPEBOOK_STEP_RUN_ID"], "end-received");
          clearTimeout(timer);
          clearTimeout(killTimer);
          signal.removeEventListener("abort", onAbort);
          // A closed step's launcher stopped what it left (launcherProcess.ts); a lost one's did not.
          if (end.type === "lost") {
            // No launcher relays this step any more: what it left runs on unless stopped here.
            if (pid !== undefined) killGroup(pid, "SIGKILL");
            if (cgroup) {
              killCgroup(cgroup.dir);
              removeCgroup(cgroup.dir);
            } else {
              stopStepProcesses(new Set([env["PIPEBOOK_STEP_RUN_ID"]!]));
            }
            return resolve({ reason: "lost", message: end.message });
          }
          if (end.spawnError !== undefined) return resolve({ reason: "spawn-failed", message: `cannot start ${argv[0]}: ${end.spawnError}` });
          if (stopping === "unrecorded") return resolve({ reason: "lost", message: `its start could not be recorded (${unrecorded instanceof Error ? unrecorded.message : String(unrecorded)})` });
          if (stopping === "timeout") return resolve({ reason: "timeout", seconds: timeoutSeconds ?? 0 });
          if (stopping === "canceled") return resolve({ reason: "canceled" });
          if (end.code === 0) return resolve({ reason: "exited" });
          resolve({ reason: "exit-non-zero", code: end.code, signal: end.signal });
        },
      },
    );
  });
}

function noCgroupNote(problem: string): string {
  return `no cgroup holds this step's processes (${problem}): they are stopped by process group and by the step id in their environment, so a process that leaves both (setsid, then a cleared environment) can outlive the step (docs/compute.md)`;
}

/**
 * The engine's variables, which a local step inherits (PATH, HOME, locale), except where they
 * would reach past a virtual environment: packages from PYTHONPATH or a pip configuration must not
 * leak into a step whose key names its packages.
 */
function inheritedEnv(job: StepJob): Readonly<Record<string, string>> {
  // resolveJob copies what it is given: reading process.env once per step is enough (each read
  // of it goes through the C++ environment, one variable at a time).
  if (job.environment.runtime.env?.["VIRTUAL_ENV"] === undefined) return process.env as Record<string, string>;
  const env = { ...process.env } as Record<string, string>;
  for (const name of Object.keys(env)) if (name === "PYTHONPATH" || name === "PYTHONHOME" || name.startsWith("PIP_")) delete env[name];
  return env;
}
