import type { LaunchOutcome } from "../compute/Compute.js";
import { unreachable } from "../errors/PipebookError.js";

/**
 * The sentence stored as a failed step's error; the one place that words launch outcomes.
 * A non-zero exit carries the last line the step wrote to stderr: usually the exception.
 */
export function describeOutcome(step: string, outcome: LaunchOutcome, lastErrorLine?: string): string | undefined {
  switch (outcome.reason) {
    case "exited":
      return undefined;
    case "exit-non-zero": {
      const what = outcome.signal ? `step "${step}" was killed by ${outcome.signal}` : `step "${step}" exited with code ${outcome.code}`;
      return lastErrorLine ? `${what}: ${lastErrorLine.slice(0, 300)}` : what;
    }
    case "timeout":
      return `step "${step}" timed out after ${outcome.seconds}s and was stopped`;
    case "canceled":
      return `step "${step}" was canceled`;
    case "spawn-failed":
      return `step "${step}" could not start: ${outcome.message}`;
    case "lost":
      return `step "${step}" was stopped: ${outcome.message}`;
    default:
      return unreachable(outcome);
  }
}
