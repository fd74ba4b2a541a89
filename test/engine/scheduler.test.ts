import { describe, expect, it } from "vitest";
import { Scheduler, type StepDemand } from "../../engine/src/runner/Scheduler.js";

const cap = (gpus: number, cpus = 8, memoryMb = 8000) => ({ gpus, cpus, memoryMb });
const demand = (gpus = 0, cpus = 0, memoryMb = 0, target = "local"): StepDemand => ({ target, gpus, cpus, memoryMb });
/** a → b → c, and d alone. */
const chain = { upstream: [[], [0], [1], []], downstream: [[1], [2], [], []] };

describe("Scheduler", () => {
  it("starts steps whose upstream completed, within the concurrency", () => {
    const s = new Scheduler(chain, [demand(), demand(), demand(), demand()], new Map([["local", cap(0)]]), 1);
    expect(s.take()).toEqual([0]);
    expect(s.take()).toEqual([]);
    expect(s.finish(0, true)).toEqual([]);
    expect(s.take()).toEqual([3]);
    s.finish(3, true);
    expect(s.take()).toEqual([1]);
    s.finish(1, true);
    expect(s.take()).toEqual([2]);
    s.finish(2, true);
    expect(s.done).toBe(true);
  });

  it("says which steps wait for a started step alone (those its target may make ready)", () => {
    // a → c ← b, a → d
    const join = { upstream: [[], [], [0, 1], [0]], downstream: [[2, 3], [2], [], []] };
    const s = new Scheduler(join, [demand(), demand(), demand(), demand()], new Map([["local", cap(0)]]), 1);
    expect(s.take()).toEqual([0]);
    // c still waits for b too; d waits for a alone.
    expect(s.nextAfter(0)).toEqual([3]);
    s.finish(0, true);
    expect(s.take()).toEqual([1]);
    // c now waits for b alone (d, ready, waits for nothing and is not downstream of b).
    expect(s.nextAfter(1)).toEqual([2]);
    s.finish(1, false);
    // c will never run: nothing is expected after b any more.
    expect(s.nextAfter(1)).toEqual([]);
  });

  it("never hands out more GPUs than the target has, and lets smaller steps pass a big one", () => {
    const flat = { upstream: [[], [], [], []], downstream: [[], [], [], []] };
    const s = new Scheduler(flat, [demand(1), demand(2), demand(1), demand(0)], new Map([["local", cap(2)]]), 8);
    expect(s.take()).toEqual([0, 2, 3]);
    expect(s.blocked()).toEqual([1]);
    s.finish(0, true);
    expect(s.take()).toEqual([]);
    s.finish(2, true);
    expect(s.take()).toEqual([1]);
  });

  it("reserves CPUs and memory per target; other targets are counted apart", () => {
    const flat = { upstream: [[], [], []], downstream: [[], [], []] };
    const s = new Scheduler(flat, [demand(0, 2, 100), demand(0, 1, 100), demand(0, 2, 100, "box")], new Map([["local", cap(0, 2)], ["box", cap(0, 2)]]), 8);
    expect(s.take()).toEqual([0, 2]);
    s.finish(0, true);
    expect(s.take()).toEqual([1]);
  });

  it("marks everything downstream of a failure as never run, once", () => {
    const s = new Scheduler(chain, [demand(), demand(), demand(), demand()], new Map(), 4);
    expect(s.take()).toEqual([0, 3]);
    expect(s.finish(0, false)).toEqual([1, 2]);
    s.finish(3, true);
    expect(s.done).toBe(true);
  });

  it("cancel returns every step not started yet", () => {
    const s = new Scheduler(chain, [demand(), demand(), demand(), demand()], new Map(), 1);
    expect(s.take()).toEqual([0]);
    expect(s.cancel().sort()).toEqual([1, 2, 3]);
    expect(s.done).toBe(false);
    expect(s.finish(0, false)).toEqual([]);
    expect(s.done).toBe(true);
  });
});
