import type { SlurmTargetConfig } from "../../dsl/workspaceConfigSchema.js";
import type { Resources } from "../StepJob.js";

/**
 * What Slurm must give the step, from its resources: GPUs as GRES (Slurm sets
 * CUDA_VISIBLE_DEVICES to exactly the GPUs it granted), CPUs per task, memory, and the time limit
 * in whole minutes (Slurm's unit; pipebook stops the job at the exact second itself). With the
 * target's partition, account, qos and extra options: what `sbatch --test-only` checks at submit.
 */
export function resourceArgs(settings: SlurmTargetConfig, resources: Resources): string[] {
  const args = ["--nodes=1", "--ntasks=1"];
  if (settings.partition !== undefined) args.push(`--partition=${settings.partition}`);
  if (settings.account !== undefined) args.push(`--account=${settings.account}`);
  if (settings.qos !== undefined) args.push(`--qos=${settings.qos}`);
  if (resources.gpus > 0) args.push(`--gres=gpu:${resources.gpus}`);
  if (resources.cpus !== undefined) args.push(`--cpus-per-task=${Math.ceil(resources.cpus)}`);
  if (resources.memoryMb !== undefined) args.push(`--mem=${Math.ceil(resources.memoryMb)}M`);
  if (resources.timeoutSeconds !== undefined) args.push(`--time=${Math.max(1, Math.ceil(resources.timeoutSeconds / 60))}`);
  return [...args, ...(settings.sbatchOptions ?? [])];
}

export interface JobIdentity {
  /** Short hash of the workspace folder: which workspace's recovery may cancel the job. */
  readonly workspaceKey: string;
  readonly runId: string;
  readonly stepRunId: string;
}

/** The comment every job carries; recovery after a crash finds jobs by it. */
export function jobComment(id: JobIdentity): string {
  return `pipebook workspace=${id.workspaceKey} run=${id.runId} step-run=${id.stepRunId}`;
}

/** The ids a comment carries, when it is one of ours. */
export function parseJobComment(comment: string): JobIdentity | undefined {
  const m = /^pipebook workspace=(\S+) run=(\S+) step-run=(\S+)$/.exec(comment.trim());
  return m ? { workspaceKey: m[1]!, runId: m[2]!, stepRunId: m[3]! } : undefined;
}

/**
 * The whole sbatch command line for a step's job: named after its step run, its comment naming
 * run and step run, output to files the engine tails, run in the step's working folder, never
 * requeued (a second attempt would write into outputs the first one began).
 */
export function sbatchArgs(settings: SlurmTargetConfig, resources: Resources, job: JobIdentity & { readonly stdout: string; readonly stderr: string; readonly workDir: string }): string[] {
  return [
    `--job-name=pipebook.${job.stepRunId}`,
    `--comment=${jobComment(job)}`,
    `--output=${job.stdout}`,
    `--error=${job.stderr}`,
    `--chdir=${job.workDir}`,
    "--export=ALL",
    "--no-requeue",
    ...resourceArgs(settings, resources),
  ];
}

/**
 * The batch script: sbatch sends its text to the node, so the script itself need not be on a
 * shared folder. A node that cannot see the working folder says so instead of running the step
 * in /tmp (Slurm falls back there when --chdir fails). Slurm sets CUDA_VISIBLE_DEVICES to the
 * GPUs it granted, but leaves it unset for a job granted none, which CUDA reads as "all GPUs":
 * a step that asked for none is given an empty list (`hideGpus`).
 */
export function batchScript(argv: readonly string[], workDir: string, hideGpus: boolean): string {
  return [
    "#!/bin/sh",
    "# A pipebook step (written by pipebook; its environment comes with the job).",
    `cd ${shellQuote(workDir)} || { echo "pipebook: node $(hostname) cannot see "${shellQuote(workDir)}", the step's folder: it must be on a file system the nodes share" >&2; exit 125; }`,
    ...(hideGpus ? ["export CUDA_VISIBLE_DEVICES="] : []),
    `exec ${argv.map(shellQuote).join(" ")}`,
    "",
  ].join("\n");
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
