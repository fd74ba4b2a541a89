import type { MetricRow } from "../../store/RunStore.js";
import type { LaunchOutcome } from "../Compute.js";
import type { StepJob } from "../StepJob.js";
import type { Gpu } from "../GpuInventory.js";

/** The WebSocket path an agent dials (`pipebook agent --server URL`). */
export const AGENT_PATH = "/agents/connect";

/** One GPU of an agent's machine, from nvidia-smi or a PIPEBOOK_GPUS stand-in (as the local target reads them). */
export type AgentGpu = Gpu;

/** What an agent reports of its machine when it connects. */
export interface AgentInventory {
  readonly gpus: readonly AgentGpu[];
  readonly cpus: number;
  readonly memoryMb: number;
  /** Free space where the agent keeps its cache and work folders, in MiB. */
  readonly diskFreeMb: number;
  readonly host: string;
  readonly version: string;
}

/** A file of a tree moved by content: relative path ("" for a lone file), digest, size. */
export type TreeFile = readonly [rel: string, digest: string, size: number];

/** A file or a folder as a list of blobs; `name` is a lone file's own name. */
export interface TreeListing {
  readonly kind: "file" | "dir";
  readonly name: string;
  readonly files: readonly TreeFile[];
}

/** What the agent moved for one job, said in the step's log and details. */
export interface TransferReport {
  readonly inputBytesMoved: number;
  readonly inputBytesCached: number;
  readonly outputBytesMoved: number;
  readonly outputBytesPresent: number;
}

/** What a running job reports, agent → server. */
export type JobReport =
  | { readonly type: "started"; readonly id: string; readonly pid: number }
  | { readonly type: "output"; readonly id: string; readonly stream: "stdout" | "stderr"; readonly text: string }
  | { readonly type: "metrics"; readonly id: string; readonly rows: readonly MetricRow[] }
  | { readonly type: "note"; readonly id: string; readonly text: string }
  | {
      readonly type: "ended";
      readonly id: string;
      readonly outcome: LaunchOutcome;
      readonly outputs: Readonly<Record<string, TreeListing>>;
      readonly transfer: TransferReport;
    };

/**
 * Agent → server, one JSON text frame each. A job report carries `seq`, counted per agent
 * process: the agent keeps each one until the server acknowledges it (`ack`, or `received` in a
 * welcome), so reports written into a connection that then dropped are sent again, and the
 * server takes each `seq` once.
 */
export type AgentMessage =
  /** `instance`: random per agent process: the same process dialing again is told from another one under its name. */
  | { readonly type: "hello"; readonly name: string; readonly instance: string; readonly labels: Readonly<Record<string, string>>; readonly inventory: AgentInventory; readonly running: readonly string[] }
  | { readonly type: "heartbeat" }
  | (JobReport & { readonly seq: number });

/** Server → agent. */
export type ServerMessage =
  /** `graceMs`: an agent away longer than this stops its jobs itself: the server has failed (or retried) them. */
  /** `received`: the last report `seq` the server took from this agent process (0: none, or another process). */
  | { readonly type: "welcome"; readonly heartbeatMs: number; readonly graceMs: number; readonly received: number }
  /** Answers a heartbeat: every report up to `seq` is taken; the agent may forget them. */
  | { readonly type: "ack"; readonly seq: number }
  /** Another connection already holds this name: this one is closed. */
  | { readonly type: "refused"; readonly reason: string }
  | {
      readonly type: "job";
      readonly job: StepJob;
      /** Indices of the agent's GPUs this step alone holds. */
      readonly gpus: readonly number[];
      /** The snapshot's files (relative path → blob), when the step has a source folder. */
      readonly snapshot: readonly TreeFile[];
      /** Each input as blobs, by input name. */
      readonly inputs: Readonly<Record<string, TreeListing>>;
    }
  /** Stop a job (a cancel, or a job this server does not know: it ended while the agent was away). */
  | { readonly type: "cancel"; readonly id: string; readonly reason: string };
