import { FailureError, unreachable, type PipebookErrorCode } from "../errors/PipebookError.js";

/** Why the server's run queue took no run: expected, so the caller gets a sentence and a status. */
export type QueueFailure =
  | { readonly reason: "shutting-down" }
  | { readonly reason: "full"; readonly waiting: number; readonly running: number; readonly retryAfterSeconds: number };

export class QueueError extends FailureError<QueueFailure> {
  constructor(failure: QueueFailure) {
    super(queueFailureCode(failure), failure, describeQueueFailure(failure));
  }
}

function queueFailureCode(f: QueueFailure): PipebookErrorCode {
  switch (f.reason) {
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
    case "shutting-down":
      return "the server is shutting down";
    case "full":
      return `the server's run queue is full (${f.waiting} waiting, ${f.running} running); retry in ${f.retryAfterSeconds}s`;
    default:
      return unreachable(f);
  }
}
