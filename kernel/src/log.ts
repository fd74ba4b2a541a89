import { writeSync } from "node:fs";

/**
 * Kernel diagnostics go straight to file descriptor 2 (Jupyter's server log). Not through
 * process.stderr, which the kernel captures into cell outputs.
 */
export function log(where: string, text: string): void {
  try { writeSync(2, `[pipebook-kernel ${where}] ${text}\n`); } catch { /* stderr closed: nowhere to report */ }
}
