import { spawn } from "node:child_process";
import { readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommandStep, Experiment, NodeScriptStep, Pipeline, PipelineData, PythonScriptStep, Workspace, isAlive as isProcessAlive, type PipelineStep } from "pipebook";
import type { RunView } from "pipebook/contract";
import { REPO, sandbox, type Sandbox } from "./helpers.js";

let sb: Sandbox;
beforeEach(async () => (sb = await sandbox()));
afterEach(async () => sb.close());

const submit = async (steps: PipelineStep[], concurrency?: number) =>
  new Experiment(sb.ws, "exec").submit(new Pipeline(sb.ws, { steps }), concurrency ? { concurrency } : {});

/** Waits until a file exists: steps signal progress through marker files, not timing. */
async function waitForFile(path: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await stat(path).then(() => true, () => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${path}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const isAlive = (pid: number): boolean => isProcessAlive(pid, null);

describe("execution", () => {
  it("runs independent steps in parallel and a fan-in step only after all its inputs", async () => {
    const m = (n: string) => join(sb.dir, n);
    const a = new PipelineData("a");
    const b = new PipelineData("b");
    const root = new PipelineData("root");
    // Each branch waits for the other's marker: the run can only finish if both run at once.
    const branch = (name: string, other: string, out: PipelineData) =>
      new CommandStep({
        name, inputs: [root], outputs: [out],
        command: `touch ${m(name)}; i=0; while [ ! -f ${m(other)} ]; do i=$((i+1)); [ $i -gt 400 ] && exit 7; sleep 0.05; done; date +%s%N > "$PIPEBOOK_OUTPUT_${out.name.toUpperCase()}/t"`,
      });
    const src = new CommandStep({ name: "src", command: `date +%s%N > "$PIPEBOOK_OUTPUT_ROOT/t"`, outputs: [root] });
    const join_ = new CommandStep({ name: "join", inputs: [a, b], command: `test -f "$PIPEBOOK_INPUT_A/t" && test -f "$PIPEBOOK_INPUT_B/t" && date +%s%N` });
    const view = await (await submit([join_, branch("left", "right", a), branch("right", "left", b), src], 4)).waitForCompletion();
    expect(view.status).toBe("completed");
    const byName = Object.fromEntries(view.steps.map((s) => [s.name, s]));
    expect(Date.parse(byName["join"]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(byName["left"]!.endedAt!));
    expect(Date.parse(byName["join"]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(byName["right"]!.endedAt!));
    expect(Date.parse(byName["left"]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(byName["src"]!.endedAt!));
  });

  it("stops the dependents of a failed step, marks them, and finishes independent branches", async () => {
    const d = new PipelineData("d");
    const e = new PipelineData("e");
    const view = await (
      await submit([
        new CommandStep({ name: "bad", command: "echo about to fail >&2; exit 3", outputs: [d] }),
        new CommandStep({ name: "after_bad", command: "true", inputs: [d], outputs: [e] }),
        new CommandStep({ name: "after_after", command: "true", inputs: [e] }),
        new CommandStep({ name: "independent", command: "echo fine" }),
      ])
    ).waitForCompletion();
    const byName = Object.fromEntries(view.steps.map((s) => [s.name, s]));
    expect(view.status).toBe("failed");
    expect(view.error).toBe('step "bad" exited with code 3: about to fail');
    expect(byName["bad"]).toMatchObject({ status: "failed", exitCode: 3, error: 'step "bad" exited with code 3: about to fail' });
    expect(byName["bad"]!.logTail).toContain("about to fail");
    expect(byName["after_bad"]).toMatchObject({ status: "skipped", why: 'not run: upstream step "bad" did not complete' });
    expect(byName["after_after"]!.status).toBe("skipped");
    expect(byName["independent"]!.status).toBe("completed");
  });

  it("stops a step that runs past its timeout, with its child processes", async () => {
    const pidFile = join(sb.dir, "child.pid");
    const run = await submit([new CommandStep({ name: "slow", command: `sleep 60 & echo $! > ${pidFile}; wait`, timeoutSeconds: 1 })]);
    const view = await run.waitForCompletion();
    expect(view.steps[0]).toMatchObject({ status: "failed", error: 'step "slow" timed out after 1s and was stopped' });
    const childPid = Number(await readFile(pidFile, "utf8"));
    await expect.poll(() => isAlive(childPid), { timeout: 5000 }).toBe(false);
  });

  it("stops a timed-out step's descendants that left its process group (setsid) too", async () => {
    const escaped = join(sb.dir, "escaped.pid");
    const run = await submit([new CommandStep({ name: "daemon", command: `setsid sh -c 'echo $$ > ${escaped}; exec sleep 60' & sleep 60`, timeoutSeconds: 1 })]);
    expect((await run.waitForCompletion()).steps[0]!.status).toBe("failed");
    const escapedPid = Number(await readFile(escaped, "utf8"));
    await expect.poll(() => isAlive(escapedPid), { timeout: 5000 }).toBe(false);
  });

  it("cancels a whole run: the running step is stopped, the rest is skipped", async () => {
    const d = new PipelineData("d");
    const marker = join(sb.dir, "started");
    const run = await submit([
      new CommandStep({ name: "long", command: `touch ${marker}; sleep 60`, outputs: [d] }),
      new CommandStep({ name: "next", command: "true", inputs: [d] }),
    ]);
    await waitForFile(marker);
    run.cancel();
    const view = await run.waitForCompletion();
    expect(view.status).toBe("canceled");
    expect(view.steps.map((s) => [s.name, s.status])).toEqual([["long", "canceled"], ["next", "skipped"]]);
  });

  it("starts steps from a separate launcher process; if it dies, the step fails, is stopped, and the next run gets a new one", async () => {
    const marker = join(sb.dir, "started");
    const pidFile = join(sb.dir, "step.pid");
    const run = await submit([new CommandStep({ name: "long", command: `echo $$ > ${pidFile}; touch ${marker}; sleep 60` })]);
    await waitForFile(marker);
    const stepPid = Number(await readFile(pidFile, "utf8"));
    // The step's parent is the launcher, a child of this process, not this process itself.
    const launcherPid = Number((await readFile(`/proc/${stepPid}/stat`, "utf8")).split(") ")[1]!.split(" ")[1]);
    expect(launcherPid).not.toBe(process.pid);
    expect(await readFile(`/proc/${launcherPid}/cmdline`, "utf8")).toContain("launcherProcess.js");
    process.kill(launcherPid, "SIGKILL");
    const view = await run.waitForCompletion();
    expect(view.steps[0]).toMatchObject({ status: "failed", error: expect.stringMatching(/^step "long" was stopped: pipebook's step launcher process exited \(SIGKILL\)/) });
    // SIGKILL is sent to its group; under load the process may take a moment to be gone.
    await expect.poll(() => isAlive(stepPid), { timeout: 5000 }).toBe(false);
    const again = await submit([new CommandStep({ name: "short", command: "echo fine" })]);
    expect((await again.waitForCompletion()).status).toBe("completed");
  });

  it("gives steps their inputs, outputs, parameters and a metrics helper for Python and Node, with no install", async () => {
    await sb.write("py/step.py", "from pipebook_run import log\nimport os\nlog('accuracy', 0.93)\nfor l in (0.5, 0.4, 0.3): log('loss', l)\nopen(os.environ['PIPEBOOK_OUTPUT_OUT'] + '/result.csv', 'w').write('a,b\\n1,2\\n')\n");
    await sb.write("js/step.mjs", "import { log, inputPath } from 'pipebook_run';\nimport { readFileSync } from 'node:fs';\nlog('rows', readFileSync(inputPath('out') + '/result.csv', 'utf8').trim().split('\\n').length - 1);\n");
    const out = new PipelineData("out");
    const view = await (
      await submit([
        new PythonScriptStep({ name: "py", scriptName: "step.py", sourceDirectory: join(sb.dir, "py"), outputs: [out] }),
        new NodeScriptStep({ name: "js", scriptName: "step.mjs", sourceDirectory: join(sb.dir, "js"), inputs: [out] }),
      ])
    ).waitForCompletion();
    expect(view.status).toBe("completed");
    const py = view.steps.find((s) => s.name === "py")!;
    expect(py.metrics).toEqual([
      { name: "accuracy", points: [{ index: 0, value: 0.93 }] },
      { name: "loss", points: [{ index: 0, value: 0.5 }, { index: 1, value: 0.4 }, { index: 2, value: 0.3 }] },
    ]);
    expect(py.outputViews[0]!.preview).toEqual({ kind: "table", columns: ["a", "b"], rows: [["1", "2"]], truncated: false });
    expect(view.steps.find((s) => s.name === "js")!.metrics).toEqual([{ name: "rows", points: [{ index: 0, value: 1 }] }]);
  });

  it("refuses a script that is not in the source directory at submit, before anything runs", async () => {
    await sb.write("src/other.py", "");
    await expect(submit([new PythonScriptStep({ name: "train", scriptName: "train.py", sourceDirectory: join(sb.dir, "src") })])).rejects.toThrow(
      /step "train": script "train.py" is not in its source directory/,
    );
    await expect(submit([new PythonScriptStep({ name: "t", scriptName: "t.py", sourceDirectory: join(sb.dir, "missing") })])).rejects.toThrow(/source directory .*missing does not exist/);
    expect(sb.ws.runs.listRuns()).toHaveLength(0);
  });

  it("stops the steps of a SIGKILLed engine at once, through its launcher, before anyone opens the workspace", async () => {
    const script = join(sb.dir, "engine.mjs");
    const pidFile = join(sb.dir, "step.pid");
    await sb.write(
      "engine.mjs",
      `import { Workspace, Pipeline, CommandStep, Experiment } from ${JSON.stringify(join(REPO, "engine/dist/index.js"))};
       const ws = await Workspace.fromConfig({ path: ${JSON.stringify(sb.dir)} });
       const steps = [new CommandStep({ name: "stuck", command: "echo $$ > ${pidFile}; sleep 120" })];
       await (await new Experiment(ws, "crash").submit(new Pipeline(ws, { steps }))).waitForCompletion();`,
    );
    const engine = spawn(process.execPath, [script], { cwd: REPO, stdio: ["ignore", "ignore", "inherit"] });
    // The pid file is written by the step itself: the engine may not have recorded it yet (the
    // store may still say "queued"), which is the case recovery alone could not stop.
    await waitForFile(pidFile);
    const stepPid = Number(await readFile(pidFile, "utf8"));
    engine.kill("SIGKILL");
    await new Promise((r) => engine.once("exit", r));
    await expect.poll(() => isAlive(stepPid), { timeout: 10_000 }).toBe(false);
  });

  it("marks runs of a SIGKILLed engine failed on the next start, stops their steps and what left their group, keeps completed results", async () => {
    const script = join(sb.dir, "engine.mjs");
    const pidFile = join(sb.dir, "step.pid");
    const escapedFile = join(sb.dir, "escaped.pid");
    await sb.write(
      "engine.mjs",
      `import { Workspace, Pipeline, CommandStep, PipelineData, Experiment } from ${JSON.stringify(join(REPO, "engine/dist/index.js"))};
       const ws = await Workspace.fromConfig({ path: ${JSON.stringify(sb.dir)} });
       const d = new PipelineData("d");
       const steps = [
         new CommandStep({ name: "quick", command: "echo done > $PIPEBOOK_OUTPUT_D/x", outputs: [d] }),
         // A descendant in a session (and group) of its own: killing the step's group misses it.
         new CommandStep({ name: "stuck", command: "setsid sh -c 'echo $$ > ${escapedFile}; exec sleep 120' & echo $$ > ${pidFile}; sleep 120", inputs: [d] }),
       ];
       const run = await new Experiment(ws, "crash").submit(new Pipeline(ws, { steps }));
       console.log(run.id);
       await run.waitForCompletion();`,
    );
    const engine = spawn(process.execPath, [script], { cwd: REPO, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    engine.stdout.on("data", (c: Buffer) => (out += c.toString()));
    await waitForFile(pidFile);
    const runId = out.trim();
    // Kill the engine once the store says the step runs (the step may write its pid file a
    // moment before the engine has recorded it: a kill in that window is another test).
    for (let i = 0; i < 200; i++) {
      const stuck = sb.ws.runs.getSteps(runId).find((s) => s.name === "stuck");
      if (stuck?.status === "running" && stuck.pid !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitForFile(escapedFile);
    const stepPid = Number(await readFile(pidFile, "utf8"));
    const escapedPid = Number(await readFile(escapedFile, "utf8"));
    // Engine and launcher both gone, so nothing stops the step but recovery: the engine is frozen
    // first, so it cannot see its launcher die and stop the step itself.
    const launcherPid = Number((await readFile(`/proc/${stepPid}/stat`, "utf8")).split(") ")[1]!.split(" ")[1]);
    engine.kill("SIGSTOP");
    process.kill(launcherPid, "SIGKILL");
    engine.kill("SIGKILL");
    await new Promise((r) => engine.once("exit", r));
    await expect.poll(() => isAlive(launcherPid), { timeout: 5000 }).toBe(false);
    expect(isAlive(stepPid)).toBe(true);
    expect(isAlive(escapedPid)).toBe(true);

    // "Restart": a fresh process opening the workspace. Here: close and reopen ours.
    await sb.ws.close();
    const ws = await Workspace.fromConfig({ path: sb.dir });
    Object.assign(sb, { ws });
    const run = ws.runs.getRun(runId)!;
    expect(run.status).toBe("failed");
    expect(run.error).toMatch(/the engine process \(pid \d+\) stopped while the run was in flight/);
    const steps = ws.runs.getSteps(runId);
    expect(steps.map((s) => [s.name, s.status])).toEqual([["quick", "completed"], ["stuck", "failed"]]);
    expect(steps[1]!.error).toMatch(/^interrupted: /);
    await expect.poll(() => isAlive(stepPid), { timeout: 5000 }).toBe(false);
    await expect.poll(() => isAlive(escapedPid), { timeout: 5000 }).toBe(false);
    expect(ws.db.pragma("integrity_check", { simple: true })).toBe("ok");

    const d = new PipelineData("d");
    const rerun = await new Experiment(ws, "crash").submit(new Pipeline(ws, { steps: [
      new CommandStep({ name: "quick", command: "echo done > $PIPEBOOK_OUTPUT_D/x", outputs: [d] }),
      new CommandStep({ name: "stuck", command: "true", inputs: [d] }),
    ] }));
    const view = await rerun.waitForCompletion();
    expect(view.steps.map((s) => [s.name, s.status])).toEqual([["quick", "reused"], ["stuck", "completed"]]);
  });

  it("stores a reproducible spec with every run and runs it again without the source folders", async () => {
    await sb.write("src/step.py", "import sys\nfrom pipebook_run import log\nlog('lr', float(sys.argv[1]))\n");
    const { PipelineParameter, PipelineRun } = await import("pipebook");
    const lr = new PipelineParameter("lr", 0.1);
    const make = () => new PythonScriptStep({ name: "train", scriptName: "step.py", sourceDirectory: join(sb.dir, "src"), arguments: [lr] });
    const first = await (await submit([make()])).waitForCompletion();
    const spec = sb.ws.runs.getRun(first.runId)!.graph.spec;
    expect(spec.steps[0]).toMatchObject({ name: "train", kind: "python", scriptName: "step.py", arguments: [{ kind: "param", name: "lr" }] });
    await rm(join(sb.dir, "src"), { recursive: true });
    const same = await (await PipelineRun.submitSpec(sb.ws, "replay", spec)).waitForCompletion();
    expect(same.steps[0]!.status).toBe("reused");
    const other = await (await PipelineRun.submitSpec(sb.ws, "replay", spec, { parameterAssignments: { lr: 0.7 } })).waitForCompletion();
    expect(other.steps[0]).toMatchObject({ status: "completed", why: "parameter lr changed 0.1 → 0.7" });
    expect(other.steps[0]!.metrics).toEqual([{ name: "lr", points: [{ index: 0, value: 0.7 }] }]);
  });

  it("records a run at once and starts it only when startWhen settles (a rejection cancels it)", async () => {
    let go!: () => void;
    const gate = new Promise<void>((r) => (go = r));
    const run = await new Experiment(sb.ws, "gated").submit(new Pipeline(sb.ws, { steps: [new CommandStep({ name: "s", command: sb.counter("s") })] }), { startWhen: gate });
    await new Promise((r) => setTimeout(r, 200));
    expect(sb.ws.runs.getRun(run.id)!.status).toBe("queued");
    expect(await sb.count("s")).toBe(0);
    go();
    expect((await run.waitForCompletion()).status).toBe("completed");
    const refused = await new Experiment(sb.ws, "gated").submit(new Pipeline(sb.ws, { steps: [new CommandStep({ name: "s2", command: "true" })] }), { startWhen: Promise.reject(new Error("queue closed")) });
    expect((await refused.waitForCompletion()).status).toBe("canceled");
  });

  it("sends a final live view that carries the outputs' previews (a notebook shows it)", async () => {
    const d = new PipelineData("table");
    const run = await submit([new CommandStep({ name: "mk", allowReuse: false, outputs: [d], command: 'printf "a,b\\n1,2\\n" > "$PIPEBOOK_OUTPUT_TABLE/t.csv"' })]);
    const views: RunView[] = [];
    run.onUpdate((v) => views.push(v));
    await run.waitForCompletion();
    await expect.poll(() => views.at(-1)?.status).toBe("completed");
    expect(views.at(-1)!.steps[0]!.outputViews[0]?.preview).toEqual({ kind: "table", columns: ["a", "b"], rows: [["1", "2"]], truncated: false });
  });

  it("sends live views: on status changes, for log lines of a long step, and a final one last", async () => {
    const marker = join(sb.dir, "go");
    const run = await submit([new CommandStep({ name: "talk", command: `echo first; i=0; while [ ! -f ${marker} ] && [ $i -lt 200 ]; do i=$((i+1)); sleep 0.05; done; echo second` })]);
    const views: { status: string; tail: string }[] = [];
    run.onUpdate((v) => views.push({ status: v.status, tail: v.steps[0]!.logTail ?? "" }));
    for (let i = 0; i < 100 && !views.some((v) => v.tail.includes("first")); i++) await new Promise((r) => setTimeout(r, 50));
    expect(views.some((v) => v.status === "running" && v.tail.includes("first"))).toBe(true);
    await writeFile(marker, "");
    await run.waitForCompletion();
    for (let i = 0; i < 40 && views.at(-1)?.status !== "completed"; i++) await new Promise((r) => setTimeout(r, 50));
    expect(views.at(-1)).toEqual({ status: "completed", tail: "first\nsecond\n" });
  });
});
