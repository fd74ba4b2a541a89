import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { driver, kernelEnv, type KernelEnv } from "./kernelHarness.js";

describe("kernel under a real Jupyter client", () => {
  let k: KernelEnv;
  beforeAll(async () => { k = await kernelEnv(); });
  afterAll(() => k?.cleanup());

  it("answers 1,000 executes in a row without a hang", async () => {
    const r = await driver<{ n: number; hangs: number; errors: number; alive: boolean }>(k, ["soak", "1000"]);
    expect(r).toMatchObject({ n: 1000, hangs: 0, errors: 0, alive: true });
  }, 300_000);

  it("interrupts a busy loop, a pending await and a loop after an await, keeping state", async () => {
    type Case = { status: string; ename: string; took_s: number; state_after: string; alive: boolean };
    const r = await driver<{ busy: Case; pending: Case; later: Case }>(k, ["interrupt"]);
    expect(r.busy).toMatchObject({ status: "error", ename: "KeyboardInterrupt", state_after: "42", alive: true });
    expect(r.pending).toMatchObject({ status: "error", ename: "KeyboardInterrupt", state_after: "11", alive: true });
    expect(r.later).toMatchObject({ status: "error", ename: "KeyboardInterrupt", state_after: "21", alive: true });
    for (const c of [r.busy, r.pending, r.later]) expect(c.took_s).toBeLessThan(5);
  }, 120_000);

  it("drops a message with a bad HMAC signature and keeps serving", async () => {
    const r = await driver<{ answered_bad: boolean; after: string; alive: boolean }>(k, ["badhmac"]);
    expect(r).toEqual({ answered_bad: false, after: "14", alive: true });
  }, 120_000);

  it("interrupting %pipeline run cancels the run and keeps the kernel", async () => {
    const r = await driver<{ ename: string; took_s: number; run_status: string; alive: boolean }>(k, ["cancelrun"]);
    expect(r).toMatchObject({ ename: "KeyboardInterrupt", run_status: "'canceled'", alive: true });
    expect(r.took_s).toBeLessThan(5);
  }, 120_000);

  it("restarts: a new process, state gone, answering again", async () => {
    const r = await driver<{ after: string; new_process: boolean; alive: boolean }>(k, ["restart"]);
    expect(r).toEqual({ after: "'undefined'", new_process: true, alive: true });
  }, 120_000);
});
