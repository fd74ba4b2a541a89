import vm from "node:vm";
import { CellSources, KernelInterrupt } from "./traceback.js";

export type RunOutcome =
  | { readonly status: "ok"; readonly value: unknown; readonly hasResult: boolean }
  | { readonly status: "threw"; readonly error: unknown }
  | { readonly status: "interrupted" };

/**
 * Runs compiled cells in the kernel's global scope. A running cell can be interrupted: a pending
 * await is abandoned at once; a synchronous loop is stopped by the I/O thread (see ioWorker) and
 * the cell then ends here the same way.
 */
export class CellRunner {
  readonly sources = new CellSources();
  #interrupt: (() => void) | undefined;
  #running = false;

  get running(): boolean { return this.#running; }

  /** Returns true if a cell was running and has been told to stop. */
  interrupt(): boolean {
    const stop = this.#interrupt;
    if (!stop) return false;
    stop();
    return true;
  }

  async run(label: string, code: string, sourceMap: string, hasResult: boolean): Promise<RunOutcome> {
    const shift = code.indexOf('"use strict"; ') + '"use strict"; '.length;
    this.sources.add(label, sourceMap, shift);
    const interrupted = new Promise<RunOutcome>((resolve) => { this.#interrupt = () => resolve({ status: "interrupted" }); });
    this.#running = true;
    try {
      // Let the caller's callback scope close first: cell code then always runs inside a
      // microtask, where the I/O thread's terminateExecution can stop it safely.
      await Promise.resolve();
      const script = new vm.Script(code, { filename: label });
      const promise = script.runInThisContext({ breakOnSigint: true, displayErrors: false }) as Promise<unknown>;
      const done = promise.then((value): RunOutcome => ({ status: "ok", value, hasResult }), (error: unknown): RunOutcome => ({ status: "threw", error }));
      return await Promise.race([done, interrupted]);
    } catch (error) {
      if (error instanceof Error && /Script execution (was interrupted|timed out)/.test(error.message)) return { status: "interrupted" };
      return { status: "threw", error };
    } finally {
      this.#interrupt = undefined;
      this.#running = false;
    }
  }
}

export { KernelInterrupt };
