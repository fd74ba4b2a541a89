import { constants } from "node:os";
import type { LaunchOutcome } from "../Compute.js";

/**
 * Where a job is in its life, from Slurm's JOB_STATE: `pending` (queued, held, requeued, nodes
 * booting), `running`, `ending` (COMPLETING: processes being stopped, epilog), `ended`.
 */
export type JobPhase = "pending" | "running" | "ending" | "ended";

const PENDING = new Set(["PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD", "SPECIAL_EXIT", "POWER_UP_NODE"]);
const ENDED = new Set(["COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "REVOKED"]);

export function phaseOf(state: string): JobPhase {
  if (PENDING.has(state)) return "pending";
  if (state === "COMPLETING") return "ending";
  if (ENDED.has(state)) return "ended";
  // RUNNING, SUSPENDED, STOPPED, SIGNALING, STAGE_OUT, RESIZING, and any state newer than this code.
  return "running";
}

/** Reasons that say nothing yet: a job just submitted pends with "None" until the scheduler looks. */
const SILENT_REASONS = new Set(["None", "", "(null)"]);

/** The note a pending job gets in its step's log ("pending in partition gpu: Resources"), or undefined. */
export function pendingNote(partition: string, reason: string): string | undefined {
  return SILENT_REASONS.has(reason) ? undefined : `pending in partition ${partition}: ${reason}`;
}

/** What pipebook knows of a job that ended. */
export interface EndedJob {
  readonly id: string;
  readonly state: string;
  readonly reason: string;
  readonly nodes: string;
  /** exit code << 8 | signal */
  readonly waitStatus: number;
  /** The job's time limit in seconds, when Slurm said. */
  readonly limitSeconds?: number | undefined;
}

/** What the step asked for, to word its ending. */
export interface AskedFor {
  readonly timeoutSeconds?: number | undefined;
  readonly memoryMb?: number | undefined;
  /** Folder the job's files were in: a launch failure is nearly always a node that cannot see it. */
  readonly jobDir: string;
}

/**
 * Slurm's ending of a job as a LaunchOutcome, in Slurm's own words where its state says more
 * than an exit code (the state is named, so a user can look it up). The caller handles endings
 * it caused itself (a cancel or timeout by scancel).
 */
export function slurmOutcome(job: EndedJob, asked: AskedFor): LaunchOutcome {
  const code = job.waitStatus >> 8;
  const signal = job.waitStatus & 0x7f;
  const on = job.nodes && job.nodes !== "(null)" ? ` on ${job.nodes}` : "";
  switch (job.state) {
    case "COMPLETED":
      return { reason: "exited" };
    case "FAILED":
      // Slurm also says JobLaunchFailure for a step it killed itself (over its memory, without
      // cgroups): that one carries a real signal, and its own words are in the step's stderr.
      if (((job.reason === "JobLaunchFailure" || /launch failed/i.test(job.reason)) && !(signal >= 1 && signal <= 31)) || (code === 0 && signal === 0)) {
        return {
          reason: "spawn-failed",
          message: `Slurm could not start job ${job.id}${on} (${job.reason || "FAILED"}); a node that cannot see ${asked.jobDir} is the usual cause (is it on a file system the nodes share?)`,
        };
      }
      return { reason: "exit-non-zero", code: signal !== 0 ? null : code, signal: signal !== 0 ? signalName(signal) : null };
    case "TIMEOUT":
      return { reason: "timeout", seconds: asked.timeoutSeconds ?? job.limitSeconds ?? 0 };
    case "OUT_OF_MEMORY":
      return {
        reason: "exit-non-zero", code: null,
        signal: `Slurm for using more memory than ${asked.memoryMb !== undefined ? `the ${asked.memoryMb} MiB it asked for` : "its job was given"} (OUT_OF_MEMORY, job ${job.id}${on})`,
      };
    case "CANCELLED":
      return { reason: "lost", message: `its Slurm job ${job.id} was canceled outside pipebook (CANCELLED: scancel, or an administrator)` };
    case "NODE_FAIL":
      return { reason: "lost", message: `the node running its Slurm job ${job.id}${job.nodes ? ` (${job.nodes})` : ""} failed (NODE_FAIL)` };
    case "PREEMPTED":
      return { reason: "lost", message: `Slurm preempted its job ${job.id} for other work (PREEMPTED)` };
    case "BOOT_FAIL":
      return { reason: "spawn-failed", message: `Slurm could not boot a node for job ${job.id} (BOOT_FAIL)` };
    case "DEADLINE":
      return { reason: "lost", message: `Slurm ended its job ${job.id} at the job's deadline (DEADLINE)` };
    default:
      return { reason: "lost", message: `its Slurm job ${job.id} ended as ${job.state}${job.reason && job.reason !== "None" ? ` (${job.reason})` : ""}` };
  }
}

function signalName(n: number): string {
  const name = Object.entries(constants.signals).find(([, v]) => v === n)?.[0];
  return name ?? `signal ${n}`;
}
