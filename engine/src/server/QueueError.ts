import { FailureError, unreachable, type PipebookErrorCode } from "../errors/PipebookError.js";

/** Why the server's run queue took no run, or cannot be made: expected, so the caller gets a sentence and a status. */
export type QueueFailure =
  /** `startServer`'s maxRunningRuns / maxQueuedRuns is not a whole number ≥ 1. */
  | { readonly reason: "limit-invalid"; readonly limit: "maxRunning" | "maxQueued"; readonly value: number }
  | { readonly reason: "shutting-down" }
  | { readonly reason: "full"; readonly waiting: number; readonly running: number; readonly retryAfterSeconds: number };

export class QueueError extends FailureError<QueueFailure> {
  constructor(failure: QueueFailure) {
    super(queueFailureCode(failure), failure, describeQueueFailure(failure));
  }
}

function queueFailureCode(f: QueueFailure): PipebookErrorCode {
  switch (f.reason) {
    case "limit-invalid":
      return "config-invalid";
    case "shutting-down":
      return "shutting-down";
    case "full":
      return "queue-full";
    default:
      return unreachable(f);
  }
}

export function describeQueueFailure(f: QueueFailure): string {
  switch (f.reason) {
    case "limit-invalid":
      return `run queue ${f.limit} must be a whole number ≥ 1, got ${f.value}`;
    case "shutting-down":
      return "the server is shutting down";
    case "full":
      return `the server's run queue is full (${f.waiting} waiting, ${f.running} running); retry in ${f.retryAfterSeconds}s`;
    default:
      return unreachable(f);
  }
}
