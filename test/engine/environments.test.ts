import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Environment, Experiment, Pipeline, PythonScriptStep, RunConfiguration, type PipelineStep } from "pipebook";
import { buildWheels } from "../support/wheels.js";
import { sandbox, type Sandbox } from "./helpers.js";

// Real venvs, real pip, real wheels: the packages a step asks for are the packages it imports.
let sb: Sandbox;
let wheels: string;
beforeEach(async () => {
  sb = await sandbox();
  wheels = await buildWheels(join(sb.dir, "wheels"), [{ name: "pbdemo", version: "1.2.3" }, { name: "pbdemo", version: "2.0.0" }]);
  await sb.write("src/show.py", "import pbdemo, sys\nprint('pbdemo', pbdemo.__version__, 'in', sys.prefix)\n");
});
afterEach(async () => sb.close());

const step = (env: Environment, name = "show"): PipelineStep =>
  new PythonScriptStep({ name, scriptName: "show.py", sourceDirectory: join(sb.dir, "src"), runconfig: new RunConfiguration({ environment: env }) });

async function run(steps: PipelineStep[], builds: string[] = []) {
  const r = await new Experiment(sb.ws, "envs").submit(new Pipeline(sb.ws, { steps }), { onPrepare: (_step, line) => builds.push(line) });
  return r.waitForCompletion();
}

describe("Python packages on local compute", () => {
  it("runs the step in a venv with exactly the packages its key names, built once per environment", async () => {
    // The host's Python does not have the package: only the venv can make this step pass.
    expect(() => execFileSync("python3", ["-c", "import pbdemo"], { stdio: "ignore" })).toThrow();
    const pinned = Environment.python({ pipPackages: ["pbdemo==1.2.3"], findLinks: [wheels] });
    const builds: string[] = [];
    const first = await run([step(pinned)], builds);
    expect(first.steps[0]).toMatchObject({ status: "completed" });
    expect(first.steps[0]!.logTail).toMatch(/pbdemo 1\.2\.3 in .*\.pipebook\/envs\//);
    expect(builds.length).toBeGreaterThan(0);

    // The same environment again: no build, and the step is reused.
    const again: string[] = [];
    const second = await run([step(Environment.python({ pipPackages: ["pbdemo==1.2.3"], findLinks: [wheels] }))], again);
    expect(second.steps[0]!.status).toBe("reused");
    expect(again).toEqual([]);

    // Another version: another venv, and why names the package list.
    const third = await run([step(Environment.python({ pipPackages: ["pbdemo==2.0.0"], findLinks: [wheels] }))]);
    expect(third.steps[0]).toMatchObject({ status: "completed", why: 'environment pipPackages changed ["pbdemo==1.2.3"] → ["pbdemo==2.0.0"]' });
    expect(third.steps[0]!.logTail).toContain("pbdemo 2.0.0");
  });

  it("refuses at submit a package its source does not have, naming the step and the target, and records no run", async () => {
    await expect(run([step(Environment.python({ pipPackages: ["pbdemo==9.9"], findLinks: [wheels] }), "missing")])).rejects.toThrow(
      /^step "missing": compute target "local" cannot build its Python environment: .*pbdemo==9\.9/,
    );
    expect(sb.ws.runs.listRuns()).toHaveLength(0);
  });

  it("refuses at submit a docker image on the local target instead of running on the host", async () => {
    await expect(run([step(Environment.fromDockerImage("python:3.12-slim"), "boxed")])).rejects.toThrow(
      'step "boxed" runs in docker image "python:3.12-slim", but compute target "local" runs steps on this machine without containers: name a docker compute target (computeTarget) for it',
    );
  });
});
