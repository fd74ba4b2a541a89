import vm from "node:vm";
import { CellSources, KernelInterrupt } from "./traceback.js";
import type { RunState } from "./runState.js";

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

  constructor(private readonly state?: RunState) {}

  /** Returns true if a cell was running and has been told to stop. */
  interrupt(): boolean {
    const stop = this.#interrupt;
    if (!stop) return false;
    stop();
    return true;
  }

  async run(label: string, code: string, sourceMap: string, hasResult: boolean): Promise<RunOutcome> {
    const shift = code.indexOf('"use strict"; ') + '"use strict"; '.length;
    this.sources.add(label, sourceMap, shift, code.split("\n").length);
    const script = new vm.Script(code, { filename: label });
    this.#running = true;
    this.state?.enter();
    try {
      return await new Promise<RunOutcome>((resolve) => {
        // Installed before the cell starts: if the I/O thread terminates the cell's synchronous
        // code, nothing after runInThisContext runs, and only this resolver can end the cell.
        this.#interrupt = () => resolve({ status: "interrupted" });
        // Run inside a microtask, where terminateExecution stops the cell without harming Node's
        // callback bookkeeping (from a timer or I/O callback it would abort the process).
        queueMicrotask(() => {
          try {
            const promise = script.runInThisContext({ displayErrors: false }) as Promise<unknown>;
            promise.then((value) => resolve({ status: "ok", value, hasResult }), (error: unknown) => resolve({ status: "threw", error }));
          } catch (error) {
            if (error instanceof Error && /Script execution (was interrupted|timed out)/.test(error.message)) resolve({ status: "interrupted" });
            else resolve({ status: "threw", error });
          }
        });
      });
    } finally {
      this.#interrupt = undefined;
      this.#running = false;
      this.state?.leave();
    }
  }
}

export { KernelInterrupt };
