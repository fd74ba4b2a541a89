import { existsSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommandStep, Experiment, Pipeline, PipelineData } from "pipebook";
import { listStepCgroups, stepCgroups } from "../../engine/src/compute/cgroups.js";
import { pipebook, pipelineProject, sandbox, usableCgroupVersions, type Sandbox } from "./helpers.js";

// A step's start moves the launcher into the step's cgroup, and the first such move after a
// pause waits for an RCU grace period (5–9 ms on kernels without `favordynmods`). The launcher
// instead waits, while a step runs, in the cgroup of the step expected next (launcherProtocol.ts
// `next`). Each step below looks for the launcher (its parent) in the next step's cgroup while it
// runs; without the hint the launcher is back in its own cgroup and the marker never shows.

const versions = usableCgroupVersions();

/**
 * Shell: waits up to 5 s for the launcher ($PPID: the step's shell is its child) in the cgroup of
 * step `next` of this run, and says so; then says whether the launcher is still in this step's own.
 */
const looksFor = (self: string, next: string): string => {
  const dir = (step: string) => `"$PIPEBOOK_TEST_CGROUP_BASE/\${PIPEBOOK_STEP_RUN_ID%.${self}}.${step}/cgroup.procs"`;
  return `for i in $(seq 500); do if grep -qx "$PPID" ${dir(next)} 2>/dev/null; then echo "launcher waits in ${next}'s cgroup"; break; fi; sleep 0.01; done; ` +
    `if grep -qx "$PPID" ${dir(self)}; then echo "launcher in ${self}'s own cgroup"; fi; ` +
    `echo "own cgroup lines: $(grep -c "$PIPEBOOK_STEP_RUN_ID" /proc/self/cgroup)"`;
};

describe.each(versions)("the step launcher waits in the next step's cgroup (%s)", { timeout: 60_000 }, (version) => {
  let sb: Sandbox;
  beforeEach(async () => {
    process.env["PIPEBOOK_CGROUP"] = version;
    process.env["PIPEBOOK_TEST_CGROUP_BASE"] = (stepCgroups() as { base: string }).base;
    sb = await sandbox();
  });
  afterEach(async () => {
    delete process.env["PIPEBOOK_CGROUP"];
    delete process.env["PIPEBOOK_TEST_CGROUP_BASE"];
    await sb.close();
  });

  it("while a chain's step runs, and leaves each step's cgroup to the step alone; none is left after", async () => {
    const d1 = new PipelineData("d1");
    const d2 = new PipelineData("d2");
    const steps = [
      new CommandStep({ name: "s1", allowReuse: false, command: `${looksFor("s1", "s2")}; touch "$PIPEBOOK_OUTPUT_D1/x"`, outputs: [d1] }),
      new CommandStep({ name: "s2", allowReuse: false, command: `${looksFor("s2", "s3")}; touch "$PIPEBOOK_OUTPUT_D2/x"`, inputs: [d1], outputs: [d2] }),
      new CommandStep({ name: "s3", allowReuse: false, command: `echo "own cgroup lines: $(grep -c "$PIPEBOOK_STEP_RUN_ID" /proc/self/cgroup)"`, inputs: [d2] }),
    ];
    const run = await new Experiment(sb.ws, "wait").submit(new Pipeline(sb.ws, { steps }));
    const view = await run.waitForCompletion();
    expect(view.status, JSON.stringify(view.steps.map((s) => s.error))).toBe("completed");
    const log = (name: string) => view.steps.find((s) => s.name === name)!.logTail ?? "";
    expect(log("s1")).toContain("launcher waits in s2's cgroup");
    expect(log("s2")).toContain("launcher waits in s3's cgroup");
    for (const name of ["s1", "s2"]) expect(log(name)).not.toMatch(/launcher in s\d's own cgroup/);
    for (const name of ["s1", "s2", "s3"]) expect(log(name)).toMatch(/own cgroup lines: [12]/);
    // s3 expected nothing after it: the launcher went home, and each step's cgroup was removed.
    await expect.poll(() => listStepCgroups().filter((c) => c.startsWith(`${run.id}.`)), { timeout: 5000 }).toEqual([]);
  });

  it("for a run's first step that will run, from the run's start", async () => {
    // The run is made and waits to start (startWhen): no step runs, yet the first one's cgroup
    // holds the launcher, waiting there for it (with the shell it starts there for that step
    // where /bin/sh fits: launcherShell.test.ts).
    let go!: () => void;
    const startWhen = new Promise<void>((resolve) => (go = resolve));
    const steps = [new CommandStep({ name: "first", allowReuse: false, command: `echo "own cgroup lines: $(grep -c "$PIPEBOOK_STEP_RUN_ID" /proc/self/cgroup)"` })];
    const run = await new Experiment(sb.ws, "wait").submit(new Pipeline(sb.ws, { steps }), { startWhen });
    const procs = join(process.env["PIPEBOOK_TEST_CGROUP_BASE"]!, `${run.id}.first`, "cgroup.procs");
    await expect.poll(() => (existsSync(procs) ? readFileSync(procs, "utf8").trim() : ""), { timeout: 5000 }).toMatch(/^\d+(\n\d+)?$/);
    go();
    const view = await run.waitForCompletion();
    expect(view.status).toBe("completed");
    expect(view.steps[0]!.logTail).toMatch(/own cgroup lines: [12]/);
    await expect.poll(() => listStepCgroups().filter((c) => c.startsWith(`${run.id}.`)), { timeout: 5000 }).toEqual([]);
  });

  it("removes the cgroup it waited in when that step never starts and the engine exits", async () => {
    const file = `
import { CommandStep, Pipeline, PipelineData, Workspace } from "pipebook";
const ws = await Workspace.fromConfig();
const d = new PipelineData("d");
export const pipeline = new Pipeline(ws, { steps: [
  new CommandStep({ name: "s1", allowReuse: false, command: ${JSON.stringify(`${looksFor("s1", "s2")}; exit 3`)}, outputs: [d] }),
  new CommandStep({ name: "s2", command: "true", inputs: [d] }),
] });
`;
    const dir = await pipelineProject("wait-miss", { "p.ts": file });
    try {
      const r = await pipebook(dir, "run", "p.ts");
      expect(r.code).not.toBe(0);
      expect(r.stdout).toContain("launcher waits in s2's cgroup");
      const runId = /run (\S+) failed/.exec(r.stdout)?.[1];
      expect(runId, r.stdout).toBeDefined();
      // s2 never started: its cgroup, where the launcher waited, goes with the launcher.
      await expect.poll(() => listStepCgroups().filter((c) => c.startsWith(`${runId}.`)), { timeout: 5000 }).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
