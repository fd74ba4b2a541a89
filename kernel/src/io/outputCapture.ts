/**
 * Routes everything the cell writes to process.stdout / process.stderr into `stream` messages.
 * Writes are buffered and sent at most once per event-loop turn, so a loop of console.log calls
 * becomes a few messages, not thousands. `flush()` runs before any other output, to keep order.
 */
export type StreamName = "stdout" | "stderr";
export type StreamSink = (name: StreamName, text: string) => void;

export class OutputCapture {
  #buffers: Record<StreamName, string> = { stdout: "", stderr: "" };
  #scheduled = false;
  #sink: StreamSink | undefined;
  readonly #originals: { stdout: typeof process.stdout.write; stderr: typeof process.stderr.write };

  constructor() {
    this.#originals = { stdout: process.stdout.write.bind(process.stdout), stderr: process.stderr.write.bind(process.stderr) };
    process.stdout.write = this.#writer("stdout");
    process.stderr.write = this.#writer("stderr");
  }

  setSink(sink: StreamSink): void { this.#sink = sink; }

  #writer(name: StreamName): typeof process.stdout.write {
    return ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((e?: Error | null) => void), cb?: (e?: Error | null) => void): boolean => {
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString(typeof encoding === "string" ? encoding : "utf8");
      this.#buffers[name] += text;
      if (!this.#scheduled) { this.#scheduled = true; setImmediate(() => this.flush()); }
      const done = typeof encoding === "function" ? encoding : cb;
      if (done) queueMicrotask(() => done(null));
      return true;
    }) as typeof process.stdout.write;
  }

  flush(): void {
    this.#scheduled = false;
    for (const name of ["stdout", "stderr"] as const) {
      const text = this.#buffers[name];
      if (text.length === 0) continue;
      this.#buffers[name] = "";
      if (this.#sink) this.#sink(name, text); else this.#originals[name](text);
    }
  }
}
