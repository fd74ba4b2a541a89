import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { open as openFile } from "node:fs/promises";
import type { MetricRow } from "../store/RunStore.js";

/** Reads complete JSON lines appended to a step's metrics file since the last read. */
export class MetricsTail {
  private offset = 0;
  private readonly counts = new Map<string, number>();
  private reading: Promise<void> = Promise.resolve();

  constructor(private readonly file: string, private readonly sink: (rows: MetricRow[]) => void) {}

  /** A read while the step runs: on the thread pool, so a large append never stalls the engine. */
  read(): Promise<void> {
    this.reading = this.reading.then(() => this.readOnce()).catch(() => undefined);
    return this.reading;
  }

  /**
   * The last read, once the step has ended (after any read in flight): synchronous, since the
   * step's end waits for it and each asynchronous call (open, stat, read, close) is a round trip
   * through the thread pool, while what is left to read is the last poll's worth of lines.
   */
  async finish(): Promise<void> {
    await this.reading;
    try {
      if (!existsSync(this.file)) return;
      const fd = openSync(this.file, "r");
      try {
        const { size } = fstatSync(fd);
        if (size <= this.offset) return;
        const buf = Buffer.alloc(size - this.offset);
        this.take(buf.subarray(0, readSync(fd, buf, 0, buf.length, this.offset)));
      } finally {
        closeSync(fd);
      }
    } catch {
      // Gone or unreadable: as a failed poll, nothing more is read.
    }
  }

  private async readOnce(): Promise<void> {
    if (!existsSync(this.file)) return;
    const handle = await openFile(this.file, "r");
    try {
      const { size } = await handle.stat();
      if (size <= this.offset) return;
      const buf = Buffer.alloc(size - this.offset);
      const { bytesRead } = await handle.read(buf, 0, buf.length, this.offset);
      this.take(buf.subarray(0, bytesRead));
    } finally {
      await handle.close();
    }
  }

  /** Takes the complete lines of what was read from `offset` on; a partial last line waits for the next read. */
  private take(buf: Buffer): void {
    const text = buf.toString("utf8");
    const end = text.lastIndexOf("\n");
    if (end < 0) return;
    this.offset += Buffer.byteLength(text.slice(0, end + 1));
    const rows: MetricRow[] = [];
    for (const line of text.slice(0, end).split("\n")) {
      try {
        const m = JSON.parse(line) as { name?: unknown; value?: unknown };
        if (typeof m.name !== "string" || (typeof m.value !== "number" && typeof m.value !== "string")) continue;
        const idx = this.counts.get(m.name) ?? 0;
        this.counts.set(m.name, idx + 1);
        rows.push({ name: m.name, idx, value: m.value });
      } catch {
        // A malformed line from a user script is skipped, not fatal.
      }
    }
    if (rows.length > 0) this.sink(rows);
  }
}
