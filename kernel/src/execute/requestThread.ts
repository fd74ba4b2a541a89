import { Worker } from "node:worker_threads";
import type { ArgsOf, FromCompiler, ReplyOf } from "./compilerMessages.js";

/** A worker thread answering typed requests (table R) by id over postMessage. */
export class RequestThread<R> {
  #worker: Worker | undefined;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #next = 1;

  constructor(private readonly script: URL, private readonly workerData: unknown) {}

  get started(): boolean { return this.#worker !== undefined; }

  start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(this.script, { workerData: this.workerData, stderr: false, stdout: false });
    this.#worker = worker;
    worker.unref();
    worker.on("message", (m: FromCompiler) => {
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.ok) p.resolve(m.reply); else p.reject(new Error(m.error));
    });
    worker.on("error", (e) => {
      for (const p of this.#pending.values()) p.reject(e);
      this.#pending.clear();
      this.#worker = undefined;
    });
    return worker;
  }

  request<K extends keyof R & string>(kind: K, args: ArgsOf<R, K>): Promise<ReplyOf<R, K>> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.start().postMessage({ id, kind, args });
    });
  }

  async terminate(): Promise<void> {
    await this.#worker?.terminate();
  }
}
