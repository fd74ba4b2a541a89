import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Experiment, Pipeline, PipelineData, PythonScriptStep } from "pipebook";
import { stepCgroups } from "../../engine/src/compute/cgroups.js";
import { sandbox, usableCgroupVersions, type Sandbox } from "./helpers.js";

// While a step runs, the launcher starts a small shell in the cgroup of the step expected next,
// and that step's start is one line written to it: the shell execs the step's command, which
// keeps the shell's pid (launcherProcess.ts `Shell`). s1 finds that shell in s2's cgroup and
// notes its pid; s2 is that very process, and sees what a spawned step sees: the engine's
// environment exactly (odd values included, no PWD or OLDPWD of the shell's), its folder, stdin
// /dev/null, the same descriptors and signal dispositions, its own session and group. s3
// (PIPEBOOK_CGROUP=off: no cgroup, no shell) is spawned as before and is the comparison.

const versions = usableCgroupVersions();

/** s1: waits up to 5 s for a `sh` in s2's cgroup and writes its pid. */
const findShell = `import os, sys, time
out = sys.argv[sys.argv.index("--output") + 1]
procs = os.path.join(os.environ["PIPEBOOK_TEST_CGROUP_BASE"], os.environ["PIPEBOOK_STEP_RUN_ID"][: -len(".s1")] + ".s2", "cgroup.procs")
found = ""
for _ in range(500):
    try:
        for pid in open(procs).read().split():
            if open(f"/proc/{pid}/comm").read().strip() == "sh":
                found = pid
    except OSError:
        pass
    if found:
        break
    time.sleep(0.01)
open(os.path.join(out, "shell"), "w").write(found)
`;

/** s2 and s3: what a step's process is given. */
const describeSelf = `import json, os, sys
out = sys.argv[sys.argv.index("--output") + 1]
fds = {}
for fd in os.listdir("/proc/self/fd"):
    try:
        fds[fd] = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        pass  # the listing's own descriptor
open(os.path.join(out, "self.json"), "w").write(json.dumps({
    "pid": os.getpid(), "env": dict(os.environ), "cwd": os.getcwd(), "argv": sys.argv[1:],
    "stdin": os.readlink("/proc/self/fd/0"), "fds": sorted(fds), "leader": os.getpgid(0) == os.getpid() == os.getsid(0),
    "signals": [l for l in open("/proc/self/status").read().splitlines() if l.startswith(("SigBlk", "SigIgn", "SigCgt"))],
}))
`;

describe.each(versions)("a step started through the launcher's waiting shell (%s)", { timeout: 60_000 }, (version) => {
  let sb: Sandbox;
  const odd = "a 'quoted' \"value\" with $HOME, `ticks`, a \\ and\na second line";
  beforeEach(async () => {
    process.env["PIPEBOOK_CGROUP"] = version;
    process.env["PIPEBOOK_TEST_CGROUP_BASE"] = (stepCgroups() as { base: string }).base;
    process.env["PIPEBOOK_TEST_ODD"] = odd;
    sb = await sandbox();
  });
  afterEach(async () => {
    delete process.env["PIPEBOOK_CGROUP"];
    delete process.env["PIPEBOOK_TEST_CGROUP_BASE"];
    delete process.env["PIPEBOOK_TEST_ODD"];
    await sb.close();
  });

  const run = async (name: string, steps: PythonScriptStep[]) => {
    const run = await new Experiment(sb.ws, name).submit(new Pipeline(sb.ws, { steps }));
    const view = await run.waitForCompletion();
    expect(view.status, JSON.stringify(view.steps.map((s) => [s.error, s.logTail]))).toBe("completed");
    return run.id;
  };
  const self = (runId: string, step: string, output: string) => JSON.parse(readFileSync(join(sb.ws.dataDir, `${runId}.${step}`, output, "self.json"), "utf8")) as {
    pid: number; env: Record<string, string>; cwd: string; argv: string[]; stdin: string; fds: string[]; leader: boolean; signals: string[];
  };

  it("is the shell that waited, and gets what a spawned step gets", async () => {
    await sb.write("src/find.py", findShell);
    await sb.write("src/self.py", describeSelf);
    const source = join(sb.dir, "src");
    const [d1, d2] = [new PipelineData("d1"), new PipelineData("d2")];
    const run1 = await run("shell", [
      new PythonScriptStep({ name: "s1", allowReuse: false, scriptName: "find.py", sourceDirectory: source, arguments: ["--output", d1], outputs: [d1] }),
      new PythonScriptStep({ name: "s2", allowReuse: false, scriptName: "self.py", sourceDirectory: source, arguments: ["--output", d2, "it's"], inputs: [d1], outputs: [d2] }),
    ]);
    const shellPid = readFileSync(join(sb.ws.dataDir, `${run1}.s1`, "d1", "shell"), "utf8");
    const s2 = self(run1, "s2", "d2");
    expect(shellPid, "no shell waited in s2's cgroup while s1 ran").not.toBe("");
    expect(s2.pid).toBe(Number(shellPid));

    process.env["PIPEBOOK_CGROUP"] = "off";
    const d3 = new PipelineData("d3");
    const run2 = await run("shell", [
      new PythonScriptStep({ name: "s3", allowReuse: false, scriptName: "self.py", sourceDirectory: source, arguments: ["--output", d3, "it's"], outputs: [d3] }),
    ]);
    const s3 = self(run2, "s3", "d3");
    expect(s2.env["PIPEBOOK_TEST_ODD"]).toBe(odd);
    expect(s2.env["OLDPWD"]).toBe(process.env["OLDPWD"]);
    expect(s2.env["PWD"]).toBe(process.env["PWD"]);
    // The same names and values but for the run, the step, its inputs and outputs (and the cgroup switch).
    const normal = (env: Record<string, string>, runId: string, step: string, out: string) =>
      Object.fromEntries(Object.entries(env).filter(([k]) => k !== "PIPEBOOK_CGROUP" && !/^PIPEBOOK_(IN|OUT)PUT_/.test(k))
        .map(([k, v]) => [k, v.replaceAll(`${runId}.${step}`, "STEP").replaceAll(runId, "RUN").replaceAll(step, "STEP").replaceAll(out, "OUT")]));
    expect(normal(s2.env, run1, "s2", "d2")).toEqual(normal(s3.env, run2, "s3", "d3"));
    expect(s2.cwd).toBe(join(sb.ws.runsDir, run1, "s2", "work"));
    expect(s3.cwd).toBe(join(sb.ws.runsDir, run2, "s3", "work"));
    expect(s2.argv.at(-1)).toBe("it's");
    for (const s of [s2, s3]) {
      expect(s.stdin).toBe("/dev/null");
      expect(s.fds.slice(0, 3)).toEqual(["0", "1", "2"]);
      expect(s.leader).toBe(true);
    }
    expect(s2.fds).toEqual(s3.fds);
    // No signal blocked or ignored that a spawned step would get by default.
    expect(s2.signals).toEqual(s3.signals);
  });
});
