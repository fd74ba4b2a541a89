import { rm } from "node:fs/promises";
import { availableParallelism, totalmem } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CommandStep, ComputeTarget, Environment, Experiment, Pipeline, PipelineData, PythonScriptStep, RunConfiguration, type PipelineStep,
} from "pipebook";
import type { SlurmClusterStatus } from "../support/slurmCluster.js";
import { slurmCluster } from "../support/slurm.js";
import { agentSandbox } from "../agents/helpers.js";
import { dockerHost, testImage } from "../support/docker.js";
import { pipebook, sandbox, type Sandbox } from "./helpers.js";

// Expected failures of compute targets and artifacts that no other test reaches, through the
// real API and CLI: each is refused with its sentence, its code and its failure as data.
let sb: Sandbox;
let cluster: SlurmClusterStatus;
beforeAll(async () => {
  sb = await sandbox();
  cluster = await slurmCluster();
  await ComputeTarget.attach(sb.ws, "cluster", { kind: "slurm", slurmConf: cluster.conf });
}, 150_000);
afterAll(async () => sb?.close());

const submit = (experiment: string, steps: PipelineStep[]) => new Experiment(sb.ws, experiment).submit(new Pipeline(sb.ws, { steps }));

describe("compute failures", () => {
  it("refuses at submit more CPUs and memory than this machine has, in one sentence, and records no run", async () => {
    const cpus = availableParallelism() + 1000;
    const memoryMb = Math.floor(totalmem() / 2 ** 20) + 100_000;
    const refused = submit("big", [new CommandStep({ name: "big", command: "true", runconfig: new RunConfiguration({ cpus, memoryMb }) })]);
    await expect(refused).rejects.toMatchObject({
      name: "ComputeError",
      code: "compute-unavailable",
      message: `step "big" needs ${cpus} CPUs and compute target "local" has ${availableParallelism()}; it needs ${memoryMb} MiB of memory and compute target "local" has ${Math.floor(totalmem() / 2 ** 20)} MiB`,
      failure: { reason: "resources-exceeded", step: "big", target: "local", shortfalls: [{ resource: "cpus", asked: cpus }, { resource: "memoryMb", asked: memoryMb }] },
    });
    expect(sb.ws.runs.listRuns({ experiment: "big" })).toEqual([]);
  });

  it("refuses a Python interpreter that cannot be run as a bad step (step-invalid)", async () => {
    await sb.write("src/hi.py", "print('hi')\n");
    const step = new PythonScriptStep({
      name: "py", scriptName: "hi.py", sourceDirectory: join(sb.dir, "src"),
      runconfig: new RunConfiguration({ environment: Environment.python({ interpreter: "python-that-is-not-here" }) }),
    });
    await expect(submit("py", [step])).rejects.toMatchObject({
      code: "step-invalid",
      message: 'cannot run the Python interpreter "python-that-is-not-here": spawn python-that-is-not-here ENOENT',
      failure: { reason: "interpreter-unrunnable", interpreter: "python-that-is-not-here" },
    });
  });

  it("refuses a pool of agents outside a server", async () => {
    await ComputeTarget.attach(sb.ws, "pool", { kind: "remote", labels: {} });
    await expect(submit("pool", [new CommandStep({ name: "a", command: "true", computeTarget: "pool" })])).rejects.toMatchObject({
      code: "compute-unavailable",
      message: "compute target pool is a pool of agents; only `pipebook serve` runs steps on it: submit to the server",
      failure: { reason: "agents-unserved", target: "pool" },
    });
  });

  it("refuses on a Slurm target a docker image, and what sbatch --test-only refuses, in Slurm's words", async () => {
    const boxed = new CommandStep({ name: "boxed", command: "true", computeTarget: "cluster", runconfig: new RunConfiguration({ environment: Environment.fromDockerImage("python:3.12-slim") }) });
    await expect(submit("slurm", [boxed])).rejects.toMatchObject({
      code: "compute-unavailable",
      message: 'step "boxed": compute target "cluster" runs steps as Slurm batch jobs without containers, but the step runs in docker image "python:3.12-slim": name a docker compute target (computeTarget) for it',
      failure: { reason: "image-unsupported", runsOn: "slurm", image: "python:3.12-slim" },
    });
    // The cluster's node declares no features: Slurm itself refuses the constraint at submit.
    await ComputeTarget.attach(sb.ws, "picky", { kind: "slurm", slurmConf: cluster.conf, sbatchOptions: ["--constraint=a100"] });
    const refused = submit("slurm", [new CommandStep({ name: "picky", command: "true", computeTarget: "picky" })]);
    await expect(refused).rejects.toMatchObject({ code: "compute-unavailable", failure: { reason: "slurm-job-refused", step: "picky", target: "picky" } });
    await expect(refused).rejects.toThrow(/^step "picky": compute target "picky" cannot run it as asked: Slurm says ".*Invalid feature specification"$/);
    expect(sb.ws.runs.listRuns({ experiment: "slurm" })).toEqual([]);
  }, 60_000);

  it("refuses on a pool of agents more GPUs than any agent has, pip packages and a docker image (stand-in GPUs: PIPEBOOK_GPUS=0,1)", async () => {
    const as = await agentSandbox();
    try {
      as.agent("gpu-1");
      await as.waitForAgent("gpu-1");
      const onPool = (name: string, runconfig: RunConfiguration) => new Experiment(as.ws, "pool").submit(new Pipeline(as.ws, { steps: [new CommandStep({ name, command: "true", computeTarget: "a100", runconfig })] }));
      await expect(onPool("big", new RunConfiguration({ gpus: 3 }))).rejects.toMatchObject({
        code: "compute-unavailable",
        message: 'step "big" needs 3 GPUs and no agent of pool a100 has that many (gpu-1: 2)',
        failure: { reason: "agents-too-small", gpus: 3, agents: [{ name: "gpu-1", gpus: 2 }] },
      });
      await expect(onPool("pip", new RunConfiguration({ environment: Environment.python({ pipPackages: ["pbdemo==1.2.3"] }) }))).rejects.toMatchObject({
        code: "compute-unavailable",
        message: 'step "pip" installs pbdemo==1.2.3, and compute target a100 (agents) does not build Python environments yet: use the agent machine\'s own Python',
        failure: { reason: "agents-build-no-environments", pipPackages: ["pbdemo==1.2.3"] },
      });
      await expect(onPool("boxed", new RunConfiguration({ environment: Environment.fromDockerImage("python:3.12-slim") }))).rejects.toMatchObject({
        code: "compute-unavailable",
        message: 'step "boxed" runs in docker image "python:3.12-slim", and compute target a100 (agents) runs steps without containers',
        failure: { reason: "image-unsupported", runsOn: "agents" },
      });
      expect(as.ws.runs.listRuns({ experiment: "pool" })).toEqual([]);
    } finally {
      await as.close();
    }
  }, 60_000);
});

describe("docker image failures", () => {
  it("an image the engine lacks and cannot pull, and a find-links folder that is gone, are refused at submit as the target's image problem", async () => {
    const busybox = await testImage("busybox");
    await ComputeTarget.attach(sb.ws, "box", { kind: "docker", host: dockerHost(), network: "none" });
    const onBox = (name: string, environment: Environment) => submit("box", [new CommandStep({ name, command: "true", computeTarget: "box", runconfig: new RunConfiguration({ environment }) })]);
    const gone = join(sb.dir, "no-such-wheels");
    await expect(onBox("wheels", Environment.docker({ image: busybox, pipPackages: ["pbdemo==1.2.3"], findLinks: [gone] }))).rejects.toMatchObject({
      code: "compute-unavailable",
      message: `step "wheels": compute target "box" cannot give it its image: its find-links folder ${gone} does not exist`,
      failure: { reason: "image-unavailable", problem: { kind: "find-links-missing", folder: gone } },
    });
    // The test engine reaches no registry: nothing can be pulled.
    const absent = "pipebook-test/absent:1";
    const refused = onBox("absent", Environment.fromDockerImage(absent));
    await expect(refused).rejects.toMatchObject({ code: "compute-unavailable", failure: { reason: "image-unavailable", problem: { kind: "pull-failed", image: absent } } });
    await expect(refused).rejects.toThrow(new RegExp(`^step "absent": compute target "box" cannot give it its image: image ${absent} is not on the engine and could not be pulled: .+`));
    expect(sb.ws.runs.listRuns({ experiment: "box" })).toEqual([]);
  }, 120_000);
});

describe("artifact failures", () => {
  it("a snapshot whose blob is gone, and an output folder that is gone, are named with their run and step", async () => {
    await sb.write("snap/keep.py", "import sys, pathlib\npathlib.Path(sys.argv[1], 'x.txt').write_text('x')\n");
    const out = new PipelineData("out");
    const run = await submit("art", [new PythonScriptStep({ name: "keep", scriptName: "keep.py", sourceDirectory: join(sb.dir, "snap"), arguments: [out], outputs: [out] })]);
    expect((await run.waitForCompletion()).status).toBe("completed");

    const digest = sb.ws.runs.getRun(run.id)!.graph.spec.steps[0]!.source["keep.py"]!;
    await rm(join(sb.ws.dir, "blobs", "sha256", digest.slice(0, 2), digest));
    const snap = await pipebook(sb.dir, "snapshot", run.id, "keep");
    expect(snap.code).not.toBe(0);
    expect(snap.stderr).toBe(`pipebook: the snapshot of step "keep" in run ${run.id} lacks file keep.py (blob ${digest.slice(0, 12)} is gone from the workspace)\n`);

    const folder = sb.ws.runs.getOutputs(`${run.id}.keep`)[0]!.path;
    await rm(folder, { recursive: true });
    await expect(run.downloadOutputs(join(sb.dir, "got"))).rejects.toMatchObject({
      code: "not-found",
      message: expect.stringMatching(new RegExp(`^output "out" of step "keep" in run ${run.id} is gone from the workspace \\(${folder}\\): ENOENT`)),
      failure: { reason: "output-gone", runId: run.id, step: "keep", output: "out", root: folder },
    });
  }, 60_000);

  it("a snapshot file path too long for a tar archive is refused over REST with its sentence (400), before any byte is sent", async () => {
    const as = await agentSandbox();
    try {
      // 405 bytes: no split into ustar's 155-byte prefix and 100-byte name fields fits it.
      const deep = `${"a".repeat(200)}/${"b".repeat(200)}.txt`;
      await as.sb.write(`long/${deep}`, "deep\n");
      await as.sb.write("long/go.py", "print('go')\n");
      const run = await new Experiment(as.ws, "tar").submit(new Pipeline(as.ws, { steps: [new PythonScriptStep({ name: "go", scriptName: "go.py", sourceDirectory: join(as.sb.dir, "long") })] }));
      expect((await run.waitForCompletion()).status).toBe("completed");
      const reply = await fetch(`${as.server.url}/runs/${run.id}/steps/go/snapshot/archive`, { headers: { Authorization: `Bearer ${as.readToken}` } });
      expect(reply.status).toBe(400);
      expect(await reply.json()).toEqual({ error: `path too long for a tar archive: ${deep}`, code: "source-invalid", reason: "archive-path-too-long" });
    } finally {
      await as.close();
    }
  }, 60_000);
});
