import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CommandStep, ComputeTarget, DataReference, Environment, Experiment, Pipeline, PipelineData, PythonScriptStep, RunConfiguration, Workspace, type PipelineStep,
} from "pipebook";
import { docker, dockerHost, testImage } from "../support/docker.js";
import { buildWheels } from "../support/wheels.js";
import { REPO, sandbox, type Sandbox } from "./helpers.js";

// Real containers on the test run's private Docker engine (test/support/globalSetup.ts), in
// images built on this machine: nothing here can be pulled.
let python: string;
let busybox: string;
beforeAll(async () => {
  [python, busybox] = await Promise.all([testImage("python"), testImage("busybox")]);
}, 300_000);

let sb: Sandbox;
beforeEach(async () => {
  sb = await sandbox();
  await ComputeTarget.attach(sb.ws, "box", { kind: "docker", host: dockerHost(), network: "none" });
});
afterEach(async () => sb.close());

const run = async (steps: PipelineStep[], experiment = "docker") => (await new Experiment(sb.ws, experiment).submit(new Pipeline(sb.ws, { steps }))).waitForCompletion();
const containersOf = async (label: string): Promise<string[]> => (await docker("ps", "-aq", "--filter", `label=${label}`)).split("\n").filter(Boolean);
const inImage = (image: string, extra: { pipPackages?: string[]; findLinks?: string[] } = {}) => new RunConfiguration({ environment: Environment.docker({ image, ...extra }) });

describe("steps in docker containers", () => {
  it("runs a Python step in an image with its input read-only and its output written for the next step", async () => {
    await sb.write("data/table.csv", "a,b\n1,2\n");
    await sb.write("src/double.py", [
      "import os, sys, pathlib",
      "from pipebook_run import log",
      "src = pathlib.Path(sys.argv[1]); out = pathlib.Path(sys.argv[2])",
      "print('python', sys.version.split()[0], 'uid', os.getuid(), 'in', os.getcwd())",
      "try:",
      "    open(src, 'a').write('tampered')",
      "    print('wrote into input')",
      "except OSError as e:",
      "    print('input is read-only:', e.strerror)",
      "(out / 'doubled.csv').write_text(src.read_text() * 2)",
      "log('rows', 4)",
    ].join("\n"));
    const store = sb.ws.getDefaultDatastore();
    await store.uploadFiles([join(sb.dir, "data", "table.csv")], { targetPath: "in", overwrite: true });
    const table = new DataReference({ datastore: store, dataReferenceName: "table", pathOnDatastore: "in/table.csv" });
    const doubled = new PipelineData("doubled");
    const view = await run([
      new PythonScriptStep({
        name: "double", scriptName: "double.py", sourceDirectory: join(sb.dir, "src"), computeTarget: "box",
        arguments: [table, doubled], outputs: [doubled], runconfig: inImage(python),
      }),
      new CommandStep({ name: "check", command: `cat "$PIPEBOOK_INPUT_DOUBLED/doubled.csv"`, inputs: [doubled] }),
    ]);
    expect(view.steps.map((s) => s.status)).toEqual(["completed", "completed"]);
    const double = view.steps[0]!;
    expect(double.logTail).toContain(`uid ${process.getuid!()} in /pipebook/code`);
    expect(double.logTail).toContain("input is read-only: Read-only file system");
    expect(double.metrics).toEqual([{ name: "rows", points: [{ index: 0, value: 4 }] }]);
    expect(view.steps[1]!.logTail).toBe("a,b\n1,2\na,b\n1,2\n");
    // The output belongs to the caller, and the input is as it was.
    const out = double.outputViews[0]!.path!;
    expect((await stat(join(out, "doubled.csv"))).uid).toBe(process.getuid!());
    expect(await readFile(store.resolve("in/table.csv"), "utf8")).toBe("a,b\n1,2\n");
    expect(await containersOf(`pipebook.run=${view.runId}`)).toEqual([]);
  });

  it("fails a step that writes into its read-only input and keeps the input intact", async () => {
    const data = new PipelineData("data");
    const view = await run([
      new CommandStep({ name: "make", command: 'echo original > "$PIPEBOOK_OUTPUT_DATA/f.txt"', outputs: [data] }),
      new CommandStep({ name: "vandal", command: 'echo changed > "$PIPEBOOK_INPUT_DATA/f.txt"', inputs: [data], computeTarget: "box", runconfig: inImage(busybox) }),
    ]);
    expect(view.steps[1]).toMatchObject({ status: "failed" });
    expect(view.steps[1]!.error).toMatch(/^step "vandal" exited with code \d+: .*Read-only file system/);
    expect(await readFile(join(view.steps[0]!.outputViews[0]!.path!, "f.txt"), "utf8")).toBe("original\n");
  });

  it("keys reuse on the image digest: a re-tagged name reruns and says so, the same digest is reused", async () => {
    await docker("tag", busybox, "pbtest/tool:1");
    const step = () => new CommandStep({ name: "tool", command: "echo hello from the tool", computeTarget: "box", runconfig: inImage("pbtest/tool:1") });
    expect((await run([step()])).steps[0]!.status).toBe("completed");
    expect((await run([step()])).steps[0]!.status).toBe("reused");
    const [before, after] = [(await docker("image", "inspect", "-f", "{{.Id}}", busybox)).trim(), (await docker("image", "inspect", "-f", "{{.Id}}", python)).trim()];
    await docker("tag", python, "pbtest/tool:1");
    const retagged = (await run([step()])).steps[0]!;
    expect(retagged.status).toBe("completed");
    expect(retagged.why).toBe(`image pbtest/tool:1 changed ${before.slice(0, 19)}… → ${after.slice(0, 19)}…`);
    expect((await run([step()])).steps[0]!.status).toBe("reused");
  });

  it("installs pip packages from a local wheel folder into an image built once per environment", async () => {
    const wheels = await buildWheels(join(sb.dir, "wheels"), [{ name: "pbdemo", version: "1.2.3" }]);
    const step = () =>
      new CommandStep({ name: "pkg", command: ["python3", "-c", "import pbdemo; print('pbdemo', pbdemo.__version__)"], computeTarget: "box", runconfig: inImage(python, { pipPackages: ["pbdemo==1.2.3"], findLinks: [wheels] }) });
    const builds: string[] = [];
    const first = await (await new Experiment(sb.ws, "pkg").submit(new Pipeline(sb.ws, { steps: [step()] }), { onPrepare: (_s, line) => builds.push(line) })).waitForCompletion();
    expect(first.steps[0]).toMatchObject({ status: "completed" });
    expect(first.steps[0]!.logTail).toContain("pbdemo 1.2.3");
    expect(builds.length).toBeGreaterThan(0);
    const again: string[] = [];
    const second = await (await new Experiment(sb.ws, "pkg").submit(new Pipeline(sb.ws, { steps: [step()] }), { onPrepare: (_s, line) => again.push(line), regenerateOutputs: true })).waitForCompletion();
    expect(second.steps[0]!.logTail).toContain("pbdemo 1.2.3");
    expect(again).toEqual([]);
  });

  it("refuses at submit a step whose image does not build, with the build's last words, and records no run", async () => {
    const broken = new RunConfiguration({ environment: Environment.docker({ image: busybox, dockerfileLines: ["RUN echo no-such-tool >&2 && exit 7"] }) });
    const err = (await run([new CommandStep({ name: "unbuildable", command: "true", computeTarget: "box", runconfig: broken })]).then(
      () => undefined,
      (e: unknown) => e,
    )) as { message: string; code: string; failure: { reason: string; problem: { kind: string; image: string } } };
    // The builder's own last line: the classic builder's wording, or BuildKit's.
    expect(err.message.startsWith(`step "unbuildable": compute target "box" cannot give it its image: building its image from ${busybox} failed: `), err.message).toBe(true);
    expect(err.message).toMatch(/echo no-such-tool >&2 && exit 7.*(returned a non-zero code: 7|exit code: 7)$/);
    expect(err.code).toBe("compute-unavailable");
    expect(err.failure).toMatchObject({ reason: "image-unavailable", problem: { kind: "build-failed", image: busybox } });
    expect(sb.ws.runs.listRuns()).toHaveLength(0);
  });

  it("stops and removes the container on timeout and on cancel", async () => {
    const timedOut = await run([new CommandStep({ name: "slow", command: "sleep 30", timeoutSeconds: 1, computeTarget: "box", runconfig: inImage(busybox) })]);
    expect(timedOut.steps[0]).toMatchObject({ status: "failed", error: 'step "slow" timed out after 1s and was stopped' });
    expect(await containersOf(`pipebook.run=${timedOut.runId}`)).toEqual([]);

    const r = await new Experiment(sb.ws, "docker").submit(new Pipeline(sb.ws, { steps: [new CommandStep({ name: "long", command: "sleep 30", computeTarget: "box", runconfig: inImage(busybox) })] }));
    for (let i = 0; i < 100 && (await containersOf(`pipebook.run=${r.id}`)).length === 0; i++) await new Promise((res) => setTimeout(res, 100));
    r.cancel();
    const canceled = await r.waitForCompletion();
    expect(canceled.steps[0]!.status).toBe("canceled");
    expect(await containersOf(`pipebook.run=${r.id}`)).toEqual([]);
  });

  it("refuses at submit a target whose engine cannot be reached and a GPU the engine cannot give", async () => {
    await ComputeTarget.attach(sb.ws, "nowhere", { kind: "docker", host: "unix:///nonexistent/docker.sock" });
    await expect(run([new CommandStep({ name: "lost", command: "true", computeTarget: "nowhere", runconfig: inImage(busybox) })])).rejects.toThrow(
      /^step "lost": compute target "nowhere" cannot reach its docker engine at unix:\/\/\/nonexistent\/docker\.sock/,
    );
    await expect(run([new CommandStep({ name: "cuda", command: "true", computeTarget: "box", runconfig: new RunConfiguration({ gpus: 1, environment: Environment.fromDockerImage(busybox) }) })])).rejects.toThrow(
      /^step "cuda" asks for 1 GPU, but the docker engine of compute target "box" has no NVIDIA runtime/,
    );
    await expect(run([new CommandStep({ name: "noimage", command: "true", computeTarget: "box" })])).rejects.toThrow(/step "noimage".*names no image/);
    expect(sb.ws.runs.listRuns()).toHaveLength(0);
  });
});

describe("a killed engine's containers", () => {
  it("are removed the next time the workspace opens", async () => {
    const project = await mkdtemp(join(tmpdir(), "pipebook-docker-kill-"));
    try {
      await writeFile(join(project, "pipebook.json"), JSON.stringify({ computeTargets: { box: { kind: "docker", host: dockerHost() } } }));
      await writeFile(join(project, "pipeline.mjs"), [
        `import { CommandStep, Environment, Experiment, Pipeline, RunConfiguration, Workspace } from ${JSON.stringify(join(REPO, "engine", "dist", "index.js"))};`,
        `const ws = await Workspace.fromConfig({ path: ${JSON.stringify(project)} });`,
        `const step = new CommandStep({ name: "sleepy", command: "sleep 60", computeTarget: "box", runconfig: new RunConfiguration({ environment: Environment.fromDockerImage(${JSON.stringify(busybox)}) }) });`,
        `await new Experiment(ws, "kill").submit(new Pipeline(ws, { steps: [step] }));`,
        `setInterval(() => {}, 1000);`,
      ].join("\n"));
      const engine = spawn(process.execPath, [join(project, "pipeline.mjs")], { stdio: "ignore" });
      const label = `pipebook.workspace=${join(project, ".pipebook")}`;
      let running: string[] = [];
      for (let i = 0; i < 200 && running.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        running = (await docker("ps", "-q", "--filter", `label=${label}`)).split("\n").filter(Boolean);
      }
      expect(running).toHaveLength(1);
      engine.kill("SIGKILL");
      await new Promise((r) => engine.once("exit", r));
      expect(await containersOf(label)).toHaveLength(1);

      const ws = await Workspace.fromConfig({ path: project });
      try {
        expect(await containersOf(label)).toEqual([]);
        const [stored] = ws.runs.listRuns();
        expect(stored!.status).toBe("failed");
      } finally {
        await ws.close();
      }
    } finally {
      await rm(project, { recursive: true, force: true });
    }
  });
});
