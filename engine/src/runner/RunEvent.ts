import type { RunStatus, StepStatus } from "../contract/runView.js";

/** What a live run reports; printers (CLI, kernel, REST streams) switch on `type`. */
export type RunEvent =
  | { readonly type: "run-status"; readonly runId: string; readonly status: RunStatus; readonly error?: string }
  | {
      readonly type: "step-status";
      readonly runId: string;
      readonly step: string;
      readonly status: StepStatus;
      /** One line: why it runs / was reused / failed. */
      readonly detail?: string;
      readonly durationMs?: number;
    }
  | { readonly type: "step-log"; readonly runId: string; readonly step: string; readonly stream: "stdout" | "stderr"; readonly text: string }
  | { readonly type: "step-metric"; readonly runId: string; readonly step: string; readonly name: string; readonly value: number | string };
