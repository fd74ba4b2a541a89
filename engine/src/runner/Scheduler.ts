import type { Capacity } from "../compute/Compute.js";

/** What one step holds on its target while it runs. */
export interface StepDemand {
  readonly target: string;
  readonly gpus: number;
  readonly cpus: number;
  readonly memoryMb: number;
}

/**
 * Picks the steps of one run that may start now, and nothing else: a step is ready when every
 * step it reads from completed, and it starts when the run's concurrency and its target's free
 * GPUs, CPUs and memory allow. Ready steps start in the order they became ready; one that does
 * not fit yet lets smaller ones pass (a run is finite, so it cannot starve). Pure bookkeeping:
 * no I/O, so it is tested and timed on its own.
 */
export class Scheduler {
  private readonly waitingOn: number[];
  private readonly ready: number[] = [];
  /** undefined: not decided yet; true: started (or settled); false: will never run. */
  private readonly settled: (boolean | undefined)[];
  private readonly used = new Map<string, { gpus: number; cpus: number; memoryMb: number }>();
  private active = 0;
  private remaining: number;

  constructor(
    private readonly graph: { readonly upstream: readonly (readonly number[])[]; readonly downstream: readonly (readonly number[])[] },
    private readonly demands: readonly StepDemand[],
    private readonly capacities: ReadonlyMap<string, Capacity>,
    private readonly concurrency: number,
  ) {
    this.waitingOn = graph.upstream.map((u) => u.length);
    this.settled = demands.map(() => undefined);
    this.remaining = demands.length;
    this.waitingOn.forEach((w, i) => w === 0 && this.ready.push(i));
  }

  /** True once every step has ended or will never run. */
  get done(): boolean {
    return this.remaining === 0;
  }

  /**
   * Steps to start now, in order; each is counted as running until `finish`. A step on a target
   * that queues by itself (a cluster) is handed over at once: that target is the scheduler.
   */
  take(): number[] {
    const out: number[] = [];
    for (let k = 0; k < this.ready.length; ) {
      const i = this.ready[k]!;
      const queued = this.queues(i);
      if (!queued && (this.active >= this.concurrency || !this.fits(i))) {
        k++;
        continue;
      }
      this.ready.splice(k, 1);
      this.hold(i, 1);
      if (!queued) this.active++;
      this.settled[i] = true;
      out.push(i);
    }
    return out;
  }

  /** Steps not started that wait for step `i` alone, which started: the ones that may start when it ends. */
  nextAfter(i: number): number[] {
    return this.graph.downstream[i]!.filter((d) => this.waitingOn[d] === 1 && this.settled[d] === undefined);
  }

  /** Ready steps that wait only for their target's resources (a run shows them as waiting). */
  blocked(): number[] {
    return this.ready.filter((i) => !this.fits(i));
  }

  /**
   * A started step ended. On success its dependents may become ready; otherwise every step
   * downstream of it will never run, and those are returned (in order) to be marked skipped.
   */
  finish(i: number, ok: boolean): number[] {
    this.hold(i, -1);
    if (!this.queues(i)) this.active--;
    this.remaining--;
    if (ok) {
      for (const d of this.graph.downstream[i]!) if (--this.waitingOn[d]! === 0) this.ready.push(d);
      return [];
    }
    return this.neverRun([...this.graph.downstream[i]!]);
  }

  /** Cancels everything not started: returns those steps, to be marked skipped. */
  cancel(): number[] {
    const pending: number[] = [];
    for (let i = 0; i < this.settled.length; i++) if (this.settled[i] === undefined) pending.push(i);
    this.ready.length = 0;
    return this.neverRun(pending);
  }

  private neverRun(from: number[]): number[] {
    const out: number[] = [];
    const stack = from;
    while (stack.length > 0) {
      const d = stack.pop()!;
      if (this.settled[d] !== undefined) continue;
      this.settled[d] = false;
      this.remaining--;
      const r = this.ready.indexOf(d);
      if (r >= 0) this.ready.splice(r, 1);
      out.push(d);
      stack.push(...this.graph.downstream[d]!);
    }
    return out;
  }

  private queues(i: number): boolean {
    return this.capacities.get(this.demands[i]!.target)?.queues === true;
  }

  private fits(i: number): boolean {
    const d = this.demands[i]!;
    const cap = this.capacities.get(d.target);
    if (!cap) return true;
    const u = this.used.get(d.target) ?? { gpus: 0, cpus: 0, memoryMb: 0 };
    return u.gpus + d.gpus <= cap.gpus && u.cpus + d.cpus <= cap.cpus && u.memoryMb + d.memoryMb <= cap.memoryMb;
  }

  private hold(i: number, sign: 1 | -1): void {
    const d = this.demands[i]!;
    const u = this.used.get(d.target) ?? { gpus: 0, cpus: 0, memoryMb: 0 };
    this.used.set(d.target, { gpus: u.gpus + sign * d.gpus, cpus: u.cpus + sign * d.cpus, memoryMb: u.memoryMb + sign * d.memoryMb });
  }
}
