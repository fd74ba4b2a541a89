import { stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommandStep, Environment, Experiment, Pipeline, PipelineData, RunConfiguration } from "pipebook";
import { StepLauncher, type LaunchEnd } from "../../engine/dist/compute/StepLauncher.js";
import { sandbox, type Sandbox } from "./helpers.js";

let sb: Sandbox;
beforeEach(async () => (sb = await sandbox()));
afterEach(async () => sb.close());

async function waitForFile(path: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await stat(path).then(() => true, () => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${path}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("a step that cannot be launched", () => {
  it("fails alone, saying which argument or variable is too big or holds a NUL, while the step beside it runs on", async () => {
    const started = join(sb.dir, "started");
    const go = join(sb.dir, "go");
    const gate = new PipelineData("gate");
    const steps = [
      // Running in the launcher while the bad steps are tried: it must not be taken down with them.
      new CommandStep({ name: "long", command: `touch ${started}; while [ ! -f ${go} ]; do sleep 0.05; done` }),
      new CommandStep({ name: "gate", command: `while [ ! -f ${started} ]; do sleep 0.05; done; touch "$PIPEBOOK_OUTPUT_GATE/ok"`, outputs: [gate] }),
      // 200,000 bytes in one argument: spawn throws E2BIG synchronously.
      new CommandStep({ name: "huge_arg", command: "true", inputs: [gate], arguments: ["x".repeat(200_000)] }),
      // A NUL in a variable: spawn throws before the kernel is asked.
      new CommandStep({ name: "nul_env", command: "true", inputs: [gate], runconfig: new RunConfiguration({ environment: Environment.system({ envVars: { BAD: "a\0b" } }) }) }),
      // Many variables each under the per-string bound, together over what a process is given.
      new CommandStep({
        name: "huge_total", command: "true", inputs: [gate],
        runconfig: new RunConfiguration({ environment: Environment.system({ envVars: Object.fromEntries(Array.from({ length: 24 }, (_, i) => [`V${i}`, "y".repeat(100_000)])) }) }),
      }),
    ];
    const run = await new Experiment(sb.ws, "launch").submit(new Pipeline(sb.ws, { steps }), { concurrency: 5 });
    await waitForFile(started);
    const bad = ["huge_arg", "nul_env", "huge_total"];
    await expect.poll(async () => (await run.view()).steps.filter((s) => bad.includes(s.name) && s.status === "failed").length, { timeout: 20_000 }).toBe(3);
    await writeFile(go, "");
    const view = await run.waitForCompletion();
    const byName = Object.fromEntries(view.steps.map((s) => [s.name, s]));
    expect(byName["long"]).toMatchObject({ status: "completed" });
    expect(byName["huge_arg"]!.error).toMatch(/^step "huge_arg" could not start: its argument 2 is 2000\d\d bytes long; a process's argument or variable is at most 131072 bytes \(128 KiB\) here$/);
    expect(byName["nul_env"]!.error).toBe('step "nul_env" could not start: its environment variable BAD holds a NUL character, which no process can be given');
    expect(byName["huge_total"]!.error).toMatch(/^step "huge_total" could not start: its arguments and environment come to \d+ bytes; a process is given at most 2097152 bytes \(2 MiB\) of them here$/);
  });

  it("in the launcher, a spawn that throws ends only its own process: the launcher relays the others to their end", async () => {
    const launcher = new StepLauncher();
    const ends = new Map<string, LaunchEnd>();
    const go = join(sb.dir, "go");
    const launch = (name: string, argv: string[]): Promise<LaunchEnd> =>
      new Promise((resolve) => {
        launcher.launch({ argv, cwd: sb.dir, env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } }, {
          onStarted: () => undefined,
          onOutput: () => undefined,
          onEnd: (end) => {
            ends.set(name, end);
            resolve(end);
          },
        });
      });
    const long = launch("long", ["/bin/sh", "-c", `while [ ! -f ${go} ]; do sleep 0.05; done`]);
    // No checks before these: the launcher itself is given what spawn refuses by throwing.
    expect(await launch("nul", ["/bin/echo", "a\0b"])).toMatchObject({ type: "closed", spawnError: expect.stringContaining("null bytes") });
    expect(await launch("e2big", ["/bin/echo", "x".repeat(200_000)])).toMatchObject({ type: "closed", spawnError: expect.stringContaining("E2BIG") });
    expect(ends.has("long")).toBe(false);
    await writeFile(go, "");
    expect(await long).toEqual({ type: "closed", code: 0, signal: null });
  });
});
