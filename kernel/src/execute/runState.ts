/**
 * What the control thread can see of the main thread without asking it: whether a cell runs, and
 * a counter the main thread bumps every few milliseconds while one does. The control thread stops
 * a cell by force only when a cell runs and the counter stood still (the thread is stuck in
 * synchronous code), never when the main thread is merely slow on a busy machine.
 */
export const RUN_STATE_BYTES = 8;
const RUNNING = 0;
const TICK = 1;
const TICK_MS = 20;

export class RunState {
  readonly #cells: Int32Array;
  #ticker: NodeJS.Timeout | undefined;
  constructor(readonly buffer: SharedArrayBuffer) { this.#cells = new Int32Array(buffer); }

  /** Main thread: a cell starts. */
  enter(): void {
    Atomics.store(this.#cells, RUNNING, 1);
    this.#ticker ??= setInterval(() => Atomics.add(this.#cells, TICK, 1), TICK_MS);
    this.#ticker.unref();
  }

  /** Main thread: the cell ended. */
  leave(): void {
    Atomics.store(this.#cells, RUNNING, 0);
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  running(): boolean { return Atomics.load(this.#cells, RUNNING) === 1; }
  tick(): number { return Atomics.load(this.#cells, TICK); }
}
