/** Where a queue's slots come from: takes `count` slots for `holder`, all or none. */
export interface SlotSource<G> {
  tryTake(count: number, holder: string): G | undefined;
}

interface Waiter<G> {
  readonly count: number;
  readonly holder: string;
  readonly resolve: (grant: G | undefined) => void;
}

/**
 * One pool's fair FIFO queue of steps waiting for slots (GPUs): the local machine's GPUs and each
 * pool of agents go through it. Waiters are served strictly in arrival order: a step asking for
 * two GPUs at the head is not overtaken by a later one asking for one, so no step starves.
 * `changed()` is called whenever slots are freed or added; a source that other processes share
 * (the local lock files) is also polled while steps wait.
 */
export class SlotQueue<G> {
  private readonly waiters: Waiter<G>[] = [];
  private poll: NodeJS.Timeout | undefined;

  constructor(
    readonly pool: string,
    private readonly source: SlotSource<G>,
    private readonly pollMs?: number,
  ) {}

  /** Steps waiting now. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Holders waiting, in order. */
  get holders(): readonly string[] {
    return this.waiters.map((w) => w.holder);
  }

  /**
   * Slots for `holder`, at once when nobody waits and they are free; otherwise after those ahead.
   * `onWait` hears how many wait ahead when it starts waiting. Undefined when `signal` aborts first.
   */
  acquire(count: number, holder: string, signal: AbortSignal, onWait?: (ahead: number) => void): Promise<G | undefined> {
    if (signal.aborted) return Promise.resolve(undefined);
    if (this.waiters.length === 0) {
      const grant = this.source.tryTake(count, holder);
      if (grant !== undefined) return Promise.resolve(grant);
    }
    return new Promise((resolve) => {
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i < 0) return;
        this.waiters.splice(i, 1);
        resolve(undefined);
        // The head leaving may let those behind it through.
        this.changed();
      };
      const waiter: Waiter<G> = {
        count, holder,
        resolve: (grant) => {
          signal.removeEventListener("abort", onAbort);
          resolve(grant);
        },
      };
      onWait?.(this.waiters.length);
      this.waiters.push(waiter);
      signal.addEventListener("abort", onAbort, { once: true });
      this.arm();
    });
  }

  /** Slots were freed or added: serves waiters in order until the head cannot be served. */
  changed(): void {
    while (this.waiters.length > 0) {
      const head = this.waiters[0]!;
      const grant = this.source.tryTake(head.count, head.holder);
      if (grant === undefined) break;
      this.waiters.shift();
      head.resolve(grant);
    }
    this.arm();
  }

  private arm(): void {
    if (this.pollMs === undefined) return;
    if (this.waiters.length === 0) {
      clearInterval(this.poll);
      this.poll = undefined;
    } else {
      this.poll ??= setInterval(() => this.changed(), this.pollMs);
    }
  }
}

/** "waiting for 1 GPU in pool a100 (3 ahead)": the one wording of a slot wait. */
export function describeSlotWait(count: number, pool: string, ahead: number): string {
  const what = count === 0 ? "a free agent" : `${count} GPU${count > 1 ? "s" : ""}`;
  return `waiting for ${what} in pool ${pool} (${ahead} ahead)`;
}
