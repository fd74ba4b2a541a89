import { RequestThread } from "./requestThread.js";
import { compileReply } from "./compileReply.js";
import type { ArgsOf, CompileReply, CompilerRequests, IsCompleteStatus, ReplyOf, TranspilerRequests } from "./compilerMessages.js";
import type { TypecheckMode } from "./cellDiagnostic.js";

/**
 * Main-thread side of the two compiler threads: the compiler thread type-checks (and completes,
 * inspects), the transpiler thread turns the same cell into a script at the same time, so a new
 * cell waits for the longer of the two instead of both.
 */
export class CompilerClient {
  readonly #checker: RequestThread<CompilerRequests>;
  readonly #transpiler: RequestThread<TranspilerRequests>;

  constructor(dir: string) {
    this.#checker = new RequestThread(new URL("./compilerWorker.js", import.meta.url), { dir });
    this.#transpiler = new RequestThread(new URL("./transpilerWorker.js", import.meta.url), {});
  }

  /**
   * Starts the threads (loading TypeScript takes a second of CPU). The kernel calls this right
   * after its first kernel_info reply, so start-up does not compete with it on small machines; a
   * request before that starts them too.
   */
  start(): void {
    this.#checker.start();
    this.#transpiler.start();
  }

  request<K extends "complete" | "inspect">(kind: K, args: ArgsOf<CompilerRequests, K>): Promise<ReplyOf<CompilerRequests, K>> {
    return this.#checker.request(kind, args);
  }

  isComplete(code: string): Promise<IsCompleteStatus> { return this.#transpiler.request("isComplete", { code }); }

  /** Stops the threads, after the compiler thread saved its code cache (bounded: exit must not hang on it). */
  async close(): Promise<void> {
    if (this.#checker.started) await Promise.race([this.#checker.request("saveCache", {}).catch(() => null), new Promise((r) => setTimeout(r, 3000))]);
    await Promise.all([this.#checker.terminate(), this.#transpiler.terminate()]);
  }

  readonly #compiled = new Map<string, CompileReply>();
  #scopeGeneration = 0;

  /**
   * Compiles a cell. A cell that declares nothing leaves the scope as it was, so compiling the
   * same text again in the same scope gives the same result: that is answered here, without a
   * trip to the compiler threads (re-running an unchanged cell is the common case).
   */
  async compile(index: number, code: string, mode: TypecheckMode): Promise<CompileReply> {
    const key = `${this.#scopeGeneration}\u0000${mode}\u0000${code}`;
    const hit = this.#compiled.get(key);
    if (hit) return hit;
    const [t, c] = await Promise.all([this.#transpiler.request("transpile", { code }), this.#checker.request("check", { index, code, mode })]);
    // The compiler thread takes messages in order: the next cell's check comes after this accept.
    const r = compileReply(t, c, () => { this.#checker.request("accept", { index, code }).catch(() => undefined); });
    if (r.status === "ok" && r.declares) this.#scopeGeneration++;
    else {
      if (this.#compiled.size > 1000) this.#compiled.clear();
      this.#compiled.set(key, r);
    }
    return r;
  }
}
