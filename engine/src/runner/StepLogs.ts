import { closeSync, openSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";

/** Each log file is rotated at this size, so a step's log takes at most twice it on disk. */
export const LOG_ROTATE_BYTES = 32 * 2 ** 20;

/**
 * A step's output, stdout and stderr interleaved in the order they came, in `output.log`:
 * stored once, opened on the first byte (a silent step costs no file at all), written
 * synchronously so the order of chunks is kept. At `rotateBytes` the file becomes `output.1.log`
 * (replacing an older one) and a new `output.log` starts with a line saying so: the end of the
 * output, where a failure's last words are, is always kept, and the disk use is bounded.
 */
export class StepLogs {
  private fd: number | undefined;
  private written = 0;
  /** The end of stderr kept in memory: the failure's last words, even when the log files cannot be written. */
  private stderrTail = "";
  private broken = false;

  constructor(
    private readonly dir: string,
    private readonly rotateBytes = LOG_ROTATE_BYTES,
  ) {}

  write(stream: "stdout" | "stderr", chunk: Buffer): void {
    if (stream === "stderr") this.stderrTail = (this.stderrTail + chunk.toString("utf8")).slice(-2048);
    if (this.broken) return;
    try {
      if (this.fd !== undefined && this.written + chunk.length > this.rotateBytes) this.rotate();
      this.fd ??= openSync(join(this.dir, "output.log"), "a");
      writeSync(this.fd, chunk);
      this.written += chunk.length;
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
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  private rotate(): void {
    this.close();
    renameSync(join(this.dir, "output.log"), join(this.dir, "output.1.log"));
    this.fd = openSync(join(this.dir, "output.log"), "a");
    const note = Buffer.from(`[pipebook] log rotated at ${Math.round(this.rotateBytes / 2 ** 20)} MiB: the output before this is in output.1.log, and anything older was dropped\n`);
    writeSync(this.fd, note);
    this.written = note.length;
  }
}
