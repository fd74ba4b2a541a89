// A timeline of each local step's life, for finding what a step waits on (docs/run-path.md):
// PIPEBOOK_STEP_TRACE=<file> makes the engine and its step launcher each keep marks (monotonic
// clock, shared by both processes) and write them at exit to <file>.<pid>, one mark a line:
// "<ns> <step run id> <mark>". Unset, a mark costs one comparison. Loaded by the launcher too, so
// it imports nothing but node:fs.
import { writeFileSync } from "node:fs";

const file = process.env["PIPEBOOK_STEP_TRACE"];
const marks: string[] = [];
if (file) {
  process.on("exit", () => {
    const now = process.hrtime.bigint();
    marks.push(`${now - BigInt(Math.round(process.uptime() * 1e9))} - process-start`, `${now} - process-exit`);
    const cpu = process.cpuUsage();
    marks.push(`${now} - cpu-user-us=${cpu.user}`, `${now} - cpu-system-us=${cpu.system}`);
    writeFileSync(`${file}.${process.pid}`, marks.join("\n") + "\n");
  });
}

/** Marks a moment of a step's life (a no-op unless PIPEBOOK_STEP_TRACE is set). */
export function traceStep(stepRunId: string | undefined, mark: string): void {
  if (file) marks.push(`${process.hrtime.bigint()} ${stepRunId ?? "-"} ${mark}`);
}
