import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { HERE, kernelEnv, runPython, type KernelEnv } from "./kernelHarness.js";

describe("jupyter_kernel_test conformance", () => {
  let k: KernelEnv;
  beforeAll(async () => { k = await kernelEnv(); });
  afterAll(() => k?.cleanup());

  it("passes every test of the standard suite, none skipped", async () => {
    const r = await runPython([join(HERE, "conformance.py")], k);
    const out = r.stderr;
    expect(out, out).toMatch(/\nOK\s*$/);
    expect(out).not.toMatch(/skipped/i);
    // kernel_info, execute_result, error, stdout, stderr, display_data, completion, inspect,
    // is_complete, history, clear_output and the pager: 12 tests.
    expect(out).toMatch(/Ran 12 tests/);
    expect(r.code).toBe(0);
  }, 180_000);
});
