import { closeSync, openSync, writeSync } from "node:fs";
import { join } from "node:path";

/**
 * stdout.log, stderr.log and the interleaved output.log of a step, opened on the first byte:
 * a silent step costs no file at all. Writes are synchronous so the order of chunks is kept.
 */
export class StepLogs {
  private fds: { stdout: number; stderr: number; combined: number } | undefined;
  /** The end of stderr kept in memory: the failure's last words, even when the log files cannot be written. */
  private stderrTail = "";
  private broken = false;

  constructor(private readonly dir: string) {}

  write(stream: "stdout" | "stderr", chunk: Buffer): void {
    if (stream === "stderr") this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-2048);
    if (this.broken) return;
    try {
      this.fds ??= {
        stdout: openSync(join(this.dir, "stdout.log"), "a"),
        stderr: openSync(join(this.dir, "stderr.log"), "a"),
        combined: openSync(join(this.dir, "output.log"), "a"),
      };
      writeSync(this.fds[stream], chunk);
      writeSync(this.fds.combined, chunk);
    } catch {
      // A full disk must not take the engine down: the step goes on, its output still reaches
      // live listeners, and the tail above still names the error.
      this.broken = true;
    }
  }

  lastErrorLine(): string | undefined {
    return this.stderrTail.split("\n").map((l) => l.trim()).filter(Boolean).pop();
  }

  close(): void {
    if (!this.fds) return;
    closeSync(this.fds.stdout);
    closeSync(this.fds.stderr);
    closeSync(this.fds.combined);
    this.fds = undefined;
  }
}
