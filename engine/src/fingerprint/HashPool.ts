import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import type { Digest } from "./digest.js";
import { hashFile } from "./hashFile.js";

interface Job {
  readonly path: string;
  readonly resolve: (d: Digest) => void;
  readonly reject: (e: Error) => void;
}

/** Below this many bytes a batch is hashed on the calling thread: handing it to workers costs more. */
const PARALLEL_THRESHOLD = 16 << 20;

/**
 * Hashes many files on all cores. Workers start on the first large batch and are unref'd,
 * so an idle pool never keeps a CLI process alive.
 */
export class HashPool {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly pending = new Map<number, Job>();
  private readonly busy = new Map<Worker, number>();
  private nextId = 0;
  /** node:worker_threads, loaded with the first large batch: most processes never start a worker. */
  private WorkerClass: typeof Worker | undefined;

  constructor(private readonly size: number = availableParallelism()) {}

  /** Hashes files; `sizes` lets the pool decide whether parallelism pays off. */
  async hashAll(paths: readonly string[], totalBytes: number): Promise<Digest[]> {
    // Large batches go to workers even with one: they read synchronously, which is faster,
    // and keep the calling thread (a kernel, a server) responsive.
    if (paths.length === 0 || totalBytes < PARALLEL_THRESHOLD) {
      const buffer = Buffer.allocUnsafe(1 << 20);
      const out: Digest[] = [];
      for (const p of paths) out.push(await hashFile(p, buffer));
      return out;
    }
    this.WorkerClass ??= (await import("node:worker_threads")).Worker;
    return Promise.all(paths.map((p) => this.submit(p)));
  }

  private submit(path: string): Promise<Digest> {
    return new Promise((resolve, reject) => {
      this.queue.push({ path, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let worker = this.idle.pop();
      if (!worker && this.workers.length < this.size) worker = this.spawn();
      if (!worker) return;
      const job = this.queue.shift()!;
      const id = this.nextId++;
      this.pending.set(id, job);
      this.busy.set(worker, id);
      worker.ref();
      worker.postMessage({ id, path: job.path });
    }
  }

  private spawn(): Worker {
    const worker = new this.WorkerClass!(new URL("./hashWorker.js", import.meta.url));
    worker.on("message", (msg: { id: number; digest?: Digest; error?: string }) => {
      const job = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      this.busy.delete(worker);
      this.idle.push(worker);
      if (this.queue.length === 0) worker.unref();
      if (job) {
        if (msg.digest) job.resolve(msg.digest);
        else job.reject(new Error(msg.error ?? "hash worker failed"));
      }
      this.pump();
    });
    worker.on("error", (err) => {
      const id = this.busy.get(worker);
      if (id !== undefined) {
        this.pending.get(id)?.reject(err);
        this.pending.delete(id);
      }
      this.busy.delete(worker);
      this.workers.splice(this.workers.indexOf(worker), 1);
      this.pump();
    });
    this.workers.push(worker);
    return worker;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
    this.idle.length = 0;
  }
}
