// Compute targets: what a step pays for running in a container, and what a second submit pays
// for an environment that is already built (a venv on local compute, a derived image on docker).
// Starts its own Docker engine with the test suite's setup (test/support/globalSetup.ts).
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tsImport } from "tsx/esm/api";
import Docker from "dockerode";
import {
  CommandStep, ComputeTarget, Environment, Experiment, Pipeline, PipelineData, PythonScriptStep, RunConfiguration, Workspace,
} from "../engine/dist/index.js";

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const log = (...a) => console.error(...a);
const results = {};
const root = await mkdtemp(join(tmpdir(), "pipebook-bench-compute-"));

// The test suite's engine setup, driven as vitest would: values it provides land in `ctx`.
const ctx = {};
const { default: setupDocker } = await tsImport("../test/support/globalSetup.ts", import.meta.url);
const teardown = await setupDocker({ provide: (k, v) => { ctx[k] = v; } });
try {
  if (ctx.dockerError) throw new Error(`no Docker engine: ${ctx.dockerError}`);
  const BUSYBOX = "pipebook-test/busybox:1";
  const docker = new Docker({ socketPath: ctx.dockerHost.replace(/^unix:\/\//, "") });

  // 1. A trivial step in a container vs the same container through dockerode by hand:
  // create (with a read-only bind, as a step's code is) → attach (a step's logs stream live) →
  // start → wait → remove.
  {
    const code = join(root, "code");
    await mkdir(code, { recursive: true });
    await writeFile(join(code, "x"), "x");
    async function raw() {
      const c = await docker.createContainer({
        Image: BUSYBOX, Cmd: ["true"], AttachStdout: true, AttachStderr: true, WorkingDir: "/code", User: `${process.getuid()}:${process.getgid()}`,
        HostConfig: { Init: true, NetworkMode: "none", Mounts: [{ Type: "bind", Source: code, Target: "/code", ReadOnly: true }] },
      });
      const stream = await c.attach({ stream: true, stdout: true, stderr: true });
      stream.resume();
      await c.start();
      await c.wait();
      await c.remove({ v: true });
    }
    const ws = await Workspace.fromConfig({ path: join(root, "docker") });
    await ComputeTarget.attach(ws, "box", { kind: "docker", host: ctx.dockerHost, network: "none" });
    const N = 10;
    const runconfig = new RunConfiguration({ environment: Environment.docker({ image: BUSYBOX }) });
    const chain = () => {
      const steps = [];
      // One after another: each step reads the (empty) output of the one before.
      const data = Array.from({ length: N }, (_, i) => new PipelineData(`d${i}`));
      for (let i = 0; i < N; i++) {
        steps.push(new CommandStep({ name: `s${i}`, command: "true", computeTarget: "box", runconfig, allowReuse: false, outputs: [data[i]], ...(i > 0 && { inputs: [data[i - 1]] }) }));
      }
      return steps;
    };
    await raw(); // first container start warms the engine's caches for both sides
    const rawMs = [];
    const engineMs = [];
    for (let rep = 0; rep < 5; rep++) {
      let t = performance.now();
      for (let i = 0; i < N; i++) await raw();
      rawMs.push((performance.now() - t) / N);
      t = performance.now();
      const view = await (await new Experiment(ws, "docker").submit(new Pipeline(ws, { steps: chain() }), { regenerateOutputs: true, onPrepare() {} })).waitForCompletion();
      engineMs.push((performance.now() - t) / N);
      if (view.status !== "completed") throw new Error(`docker chain ended ${view.status}: ${JSON.stringify(view.steps.find((s) => s.error))}`);
    }
    const e = median(engineMs);
    const r = median(rawMs);
    results.dockerStep = { steps: N, engineMsPerStep: +e.toFixed(1), rawDockerodeMsPerStep: +r.toFixed(1), ratio: +(e / r).toFixed(2), goal: "ratio ≤ 1.15" };
    log("docker step vs raw dockerode:", results.dockerStep);
    await ws.close();
  }

  // 2. A second submit of a pipeline whose environment is built: no build, and the prepare cost.
  {
    const { buildWheels } = await tsImport("../test/support/wheels.ts", import.meta.url);
    const wheels = await buildWheels(join(root, "wheels"), [{ name: "pbbench", version: "1.0.0" }]);
    const src = join(root, "src");
    await mkdir(src, { recursive: true });
    await writeFile(join(src, "s.py"), "import pbbench\nprint(pbbench.VERSION)\n");
    const packages = { pipPackages: ["pbbench==1.0.0"], findLinks: [wheels] };
    const measure = async (label, ws, runconfig, computeTarget) => {
      const step = () => new PythonScriptStep({ name: "s", scriptName: "s.py", sourceDirectory: src, computeTarget, runconfig, allowReuse: false });
      const submit = async (lines) => {
        const t = performance.now();
        const run = await new Experiment(ws, label).submit(new Pipeline(ws, { steps: [step()] }), { onPrepare: (_s, line) => lines.push(line) });
        const ms = performance.now() - t;
        const view = await run.waitForCompletion();
        if (view.status !== "completed") throw new Error(`${label} ended ${view.status}: ${view.steps[0]?.error}`);
        return ms;
      };
      const firstLines = [];
      const firstMs = await submit(firstLines);
      const again = [];
      const lines = [];
      for (let i = 0; i < 5; i++) again.push(await submit(lines));
      const builds = (ls) => ls.filter((l) => l.startsWith("building environment") || l.startsWith("building image")).length;
      return { firstSubmitMs: Math.round(firstMs), buildsOnFirst: builds(firstLines), secondSubmitMedianMs: +median(again).toFixed(1), buildsOnLaterSubmits: builds(lines), goal: "0 builds, ≤ 50 ms" };
    };
    const local = await Workspace.fromConfig({ path: join(root, "venv") });
    results.venvResubmit = await measure("venv", local, new RunConfiguration({ environment: Environment.python(packages) }), "local");
    log("venv, second submit:", results.venvResubmit);

    // The Python image is built in the background by the setup (seconds once its rootfs is cached).
    const { readFile } = await import("node:fs/promises");
    for (;;) {
      const status = JSON.parse(await readFile(ctx.pythonImageStatus, "utf8"));
      if (status.state === "ready") break;
      if (status.state === "failed") throw new Error(`python image: ${status.error}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const boxed = await Workspace.fromConfig({ path: join(root, "derived") });
    await ComputeTarget.attach(boxed, "box", { kind: "docker", host: ctx.dockerHost, network: "none" });
    results.derivedImageResubmit = await measure("derived", boxed, new RunConfiguration({ environment: Environment.docker({ image: "pipebook-test/python:1", ...packages }) }), "box");
    log("derived image, second submit:", results.derivedImageResubmit);
  }
} finally {
  await teardown();
  await rm(root, { recursive: true, force: true });
}
console.log(JSON.stringify(results));
process.exit(0);
