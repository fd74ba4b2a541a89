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

  /** Whether the transpiler thread has loaded TypeScript and warmed up. */
  #transpilerReady = false;
  #startingTranspiler = false;

  /**
   * Starts the compiler thread (loading TypeScript and a first check take a second of CPU). The
   * kernel calls this right after its first kernel_info reply, so start-up does not compete with it
   * on small machines; a request before that starts it too. The transpiler thread starts only once
   * the compiler thread is warm, so the two loads do not compete for the first cell either (on a
   * busy 2-core machine they did: the first cell took over 10 s); until it is ready, the compiler
   * thread transpiles too.
   */
  start(): void {
    this.#checker.start();
    if (this.#startingTranspiler) return;
    this.#startingTranspiler = true;
    this.#checker.request("ready", {})
      .then(() => this.#transpiler.request("isComplete", { code: "" }))
      .then(() => { this.#transpilerReady = true; }, () => { this.#startingTranspiler = false; });
  }

  request<K extends "complete" | "inspect">(kind: K, args: ArgsOf<CompilerRequests, K>): Promise<ReplyOf<CompilerRequests, K>> {
    return this.#checker.request(kind, args);
  }

  isComplete(code: string): Promise<IsCompleteStatus> {
    return this.#transpilerReady ? this.#transpiler.request("isComplete", { code }) : this.#checker.request("isComplete", { code });
  }

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
    const r = await this.#compileNew(index, code, mode);
    if (r.status === "ok" && r.declares) this.#scopeGeneration++;
    else {
      if (this.#compiled.size > 1000) this.#compiled.clear();
      this.#compiled.set(key, r);
    }
    return r;
  }

  async #compileNew(index: number, code: string, mode: TypecheckMode): Promise<CompileReply> {
    if (!this.#transpilerReady) {
      this.start();
      return this.#checker.request("compile", { index, code, mode });
    }
    const [t, c] = await Promise.all([this.#transpiler.request("transpile", { code }), this.#checker.request("check", { index, code, mode })]);
    // The compiler thread takes messages in order: the next cell's check comes after this accept.
    return compileReply(t, c, () => { this.#checker.request("accept", { index, code }).catch(() => undefined); });
  }
}
