import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, pipelineProject, whatItLoads } from "./helpers.js";

const exec = promisify(execFile);

// A no-op rerun of Python steps runs no step: LocalCompute loads what a step's run needs
// (compute/runLocalStep.ts: the launcher, cgroups, metrics, mounts) when a step runs, and
// node:child_process only where a process is started. Outside a git repository (no `git status`
// to ask) and with python3 remembered by the first run, the rerun starts no process at all, so it
// must load none of them (node:net it may: a piped stdout is a socket). V8's coverage lists the engine's scripts, a preload lists Node's modules.
let project: string;
beforeAll(async () => {
  project = await pipelineProject("noop-loads", {
    "src/step.py": "import sys\n",
    "pipeline.ts": [
      'import { join } from "node:path";',
      'import { Pipeline, PipelineData, PythonScriptStep, Workspace } from "pipebook";',
      "const ws = await Workspace.fromConfig();",
      'const data = [new PipelineData("d0"), new PipelineData("d1")];',
      "export const pipeline = new Pipeline(ws, {",
      "  steps: data.map((d, i) => new PythonScriptStep({",
      '    name: `s${i}`, scriptName: "step.py", sourceDirectory: join(process.cwd(), "src"),',
      '    arguments: ["--output", d], inputs: i > 0 ? [data[i - 1]!] : [], outputs: [d],',
      "  })),",
      "});",
      "",
    ].join("\n"),
  });
});
afterAll(async () => {
  await rm(project, { recursive: true, force: true });
});

describe("a no-op rerun of Python steps", () => {
  it("loads none of what running a step needs: no launcher, cgroups, metrics tail, venv builder, node:child_process", async () => {
    const env = { ...process.env, PIPEBOOK_CACHE_DIR: join(project, "cache") };
    const first = await exec(process.execPath, [CLI, "run", "pipeline.ts", "-q"], { cwd: project, env });
    expect(first.stdout).toMatch(/2 ran, 0 reused/);
    const { stdout, scripts, builtins } = await whatItLoads(project, ["run", "pipeline.ts", "-q"], env);
    expect(stdout).toMatch(/0 ran, 2 reused/);
    expect(scripts).toContain("compute/LocalCompute.js");
    const runOnly = ["compute/runLocalStep.js", "compute/StepLauncher.js", "compute/readOnlyBinds.js", "compute/cgroups.js", "compute/MetricsTail.js",
      "compute/stopStepProcesses.js", "compute/launchSizeProblem.js", "compute/waitForGpus.js", "compute/environments/pythonVenv.js"];
    expect(runOnly.filter((f) => scripts.has(f))).toEqual([]);
    expect(builtins.filter((m) => /^NativeModule (child_process|dgram)$/.test(m))).toEqual([]);
  });
});
