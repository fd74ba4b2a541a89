import type { LaunchOutcome } from "../compute/ComputeTarget.js";
import { unreachable } from "../errors/PipebookError.js";

/** The sentence stored as a failed step's error; the one place that words launch outcomes. */
export function describeOutcome(step: string, outcome: LaunchOutcome): string | undefined {
  switch (outcome.reason) {
    case "exited":
      return undefined;
    case "exit-non-zero":
      return outcome.signal
        ? `step "${step}" was killed by ${outcome.signal}`
        : `step "${step}" exited with code ${outcome.code}`;
    case "timeout":
      return `step "${step}" timed out after ${outcome.seconds}s and was stopped`;
    case "canceled":
      return `step "${step}" was canceled`;
    case "spawn-failed":
      return `step "${step}" could not start: ${outcome.message}`;
    default:
      return unreachable(outcome);
  }
}
