import { open } from "node:fs/promises";

/**
 * Hands on what is appended to a file that another machine writes (a job's output on a shared
 * file system). The file is opened afresh for every read: NFS revalidates a file on open
 * (close-to-open consistency), so a read after the writer closed it sees everything.
 */
export class FileTail {
  private offset = 0;
  private reading: Promise<void> = Promise.resolve();

  constructor(private readonly file: string, private readonly sink: (chunk: Buffer) => void) {}

  /** Reads what was appended since the last read; reads never overlap. */
  read(): Promise<void> {
    this.reading = this.reading.then(() => this.readOnce()).catch(() => undefined);
    return this.reading;
  }

  private async readOnce(): Promise<void> {
    let handle;
    try {
      handle = await open(this.file, "r");
    } catch {
      // Not there yet: the job has not started.
      return;
    }
    try {
      for (;;) {
        const buf = Buffer.alloc(64 * 1024);
        const { bytesRead } = await handle.read(buf, 0, buf.length, this.offset);
        if (bytesRead === 0) return;
        this.offset += bytesRead;
        this.sink(buf.subarray(0, bytesRead));
      }
    } finally {
      await handle.close();
    }
  }
}
