import { Worker } from "node:worker_threads";
import type { CompileReply, CompilerRequestName, CompilerRequests, FromCompiler, ToCompiler } from "./compilerMessages.js";
import type { TypecheckMode } from "./cellDiagnostic.js";

/** Main-thread side of the compiler thread: typed request/reply over postMessage. */
export class CompilerClient {
  #worker: Worker | undefined;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #next = 1;

  constructor(private readonly dir: string) {}

  /**
   * Starts the compiler thread (loading TypeScript takes a second of CPU). The kernel calls this
   * right after its first kernel_info reply, so start-up does not compete with it on small machines;
   * a request before that starts it too.
   */
  start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL("./compilerWorker.js", import.meta.url), { workerData: { dir: this.dir }, stderr: false, stdout: false });
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

  request<K extends CompilerRequestName>(kind: K, args: CompilerRequests[K]["args"]): Promise<CompilerRequests[K]["reply"]> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.start().postMessage({ id, kind, args } as ToCompiler);
    });
  }

  /** Stops the thread, after it saved its code cache (bounded: exit must not hang on it). */
  async close(): Promise<void> {
    if (!this.#worker) return;
    await Promise.race([this.request("saveCache", {}).catch(() => null), new Promise((r) => setTimeout(r, 3000))]);
    await this.#worker.terminate();
  }

  readonly #compiled = new Map<string, CompileReply>();
  #scopeGeneration = 0;

  /**
   * Compiles a cell. A cell that declares nothing leaves the scope as it was, so compiling the
   * same text again in the same scope gives the same result: that is answered here, without a
   * trip to the compiler thread (re-running an unchanged cell is the common case).
   */
  async compile(index: number, code: string, mode: TypecheckMode): Promise<CompileReply> {
    const key = `${this.#scopeGeneration}\u0000${mode}\u0000${code}`;
    const hit = this.#compiled.get(key);
    if (hit) return hit;
    const r = await this.request("compile", { index, code, mode });
    if (r.status === "ok" && r.declares) this.#scopeGeneration++;
    else {
      if (this.#compiled.size > 1000) this.#compiled.clear();
      this.#compiled.set(key, r);
    }
    return r;
  }
}
