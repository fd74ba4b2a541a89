import { existsSync } from "node:fs";
import { open as openFile } from "node:fs/promises";
import type { MetricRow } from "../store/RunStore.js";

/** Reads complete JSON lines appended to a step's metrics file since the last read. */
export class MetricsTail {
  private offset = 0;
  private readonly counts = new Map<string, number>();
  private reading: Promise<void> = Promise.resolve();

  constructor(private readonly file: string, private readonly sink: (rows: MetricRow[]) => void) {}

  read(): Promise<void> {
    this.reading = this.reading.then(() => this.readOnce()).catch(() => undefined);
    return this.reading;
  }

  private async readOnce(): Promise<void> {
    if (!existsSync(this.file)) return;
    const handle = await openFile(this.file, "r");
    try {
      const { size } = await handle.stat();
      if (size <= this.offset) return;
      const buf = Buffer.alloc(size - this.offset);
      await handle.read(buf, 0, buf.length, this.offset);
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
    } finally {
      await handle.close();
    }
  }
}
