import { mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StepLogs } from "../../engine/src/runner/StepLogs.js";

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), "pipebook-logs-")); });
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe("step logs", () => {
  it("store the output once, stdout and stderr interleaved in order", async () => {
    const logs = new StepLogs(dir);
    logs.write("stdout", Buffer.from("one\n"));
    logs.write("stderr", Buffer.from("two\n"));
    logs.write("stdout", Buffer.from("three\n"));
    logs.close();
    expect(await readdir(dir)).toEqual(["output.log"]);
    expect(await readFile(join(dir, "output.log"), "utf8")).toBe("one\ntwo\nthree\n");
    expect(logs.lastErrorLine()).toBe("two");
  });

  it("rotate at their size bound, keep the end of the output, say so, and stay bounded on disk", async () => {
    const logs = new StepLogs(dir, 1000);
    for (let i = 0; i < 100; i++) logs.write(i % 2 ? "stderr" : "stdout", Buffer.from(`line ${String(i).padStart(3, "0")} ${"x".repeat(40)}\n`));
    logs.close();
    expect((await readdir(dir)).sort()).toEqual(["output.1.log", "output.log"]);
    const last = await readFile(join(dir, "output.log"), "utf8");
    expect(last).toMatch(/^\[pipebook\] log rotated at .* the output before this is in output\.1\.log, and anything older was dropped\n/);
    expect(last).toContain("line 099");
    expect((await stat(join(dir, "output.log"))).size).toBeLessThanOrEqual(1000);
    expect((await stat(join(dir, "output.1.log"))).size).toBeLessThanOrEqual(1000);
    expect(await readFile(join(dir, "output.1.log"), "utf8")).not.toContain("line 000");
  });
});
