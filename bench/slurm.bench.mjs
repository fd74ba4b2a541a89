// The slurm target: what a trivial step costs as a Slurm job through pipebook, against
// `sbatch --wait` of the same script in the same run (the yardstick), and against a
// client that polls squeue every 50 ms (the fastest anyone learns a job ended, since
// `sbatch --wait` sleeps 2 s before its first look). Starts its own one-node cluster with the
// test suite's code (test/support/slurmCluster.ts).
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { tsImport } from "tsx/esm/api";
import { CommandStep, ComputeTarget, Experiment, Pipeline, PipelineData, Workspace } from "../engine/dist/index.js";

const exec = promisify(execFile);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const log = (...a) => console.error(...a);
const results = {};
const root = await mkdtemp(join(tmpdir(), "pipebook-bench-slurm-"));

const { startSlurmCluster } = await tsImport("../test/support/slurmCluster.ts", import.meta.url);
const cluster = await startSlurmCluster();
try {
  await cluster.ready;
  const { readFile } = await import("node:fs/promises");
  const status = JSON.parse(await readFile(cluster.statusFile, "utf8"));
  if (status.state !== "ready") throw new Error(`no Slurm cluster: ${status.error}`);
  const env = { ...process.env, SLURM_CONF: status.conf };

  const ws = await Workspace.fromConfig({ path: join(root, "ws") });
  await ComputeTarget.attach(ws, "cluster", { kind: "slurm", slurmConf: status.conf });
  const N = 6;
  // One after another: each step reads the (empty) output of the one before.
  const chain = (n = N) => {
    const steps = [];
    const data = Array.from({ length: n }, (_, i) => new PipelineData(`d${i}`));
    for (let i = 0; i < n; i++) {
      steps.push(new CommandStep({ name: `s${i}`, command: "true", computeTarget: "cluster", allowReuse: false, outputs: [data[i]], ...(i > 0 && { inputs: [data[i - 1]] }) }));
    }
    return steps;
  };

  // The script pipebook writes for `true`, submitted by hand with the same kind of options.
  const work = join(root, "raw");
  await exec("mkdir", ["-p", work]);
  const script = join(root, "job.sh");
  await writeFile(script, `#!/bin/sh\ncd ${work} || exit 125\nexport CUDA_VISIBLE_DEVICES=\nexec /bin/sh -c true\n`);
  const rawArgs = ["--parsable", "--nodes=1", "--ntasks=1", "--no-requeue", `--chdir=${work}`, `--output=${join(work, "out")}`, `--error=${join(work, "err")}`];
  const sbatchWait = () => exec("sbatch", ["--wait", ...rawArgs, script], { env });
  const sbatchPoll = async () => {
    const { stdout } = await exec("sbatch", [...rawArgs, script], { env });
    const id = stdout.trim().split(";")[0];
    for (;;) {
      const { stdout: state } = await exec("squeue", ["-h", "--states=all", `--jobs=${id}`, "-o", "%T"], { env });
      if (/^(COMPLETED|FAILED|CANCELLED|TIMEOUT)$/.test(state.trim())) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const perJob = async (f) => {
    const t = performance.now();
    for (let i = 0; i < N; i++) await f();
    return (performance.now() - t) / N;
  };

  // Warm both sides: the first job of a fresh cluster and the engine's first submit are slower.
  await sbatchPoll();
  await (await new Experiment(ws, "warm").submit(new Pipeline(ws, { steps: chain(1) }), { onPrepare() {} })).waitForCompletion();
  const engineMs = [];
  const waitMs = [];
  const pollMs = [];
  for (let rep = 0; rep < 3; rep++) {
    waitMs.push(await perJob(sbatchWait));
    pollMs.push(await perJob(sbatchPoll));
    const t = performance.now();
    const view = await (await new Experiment(ws, "chain").submit(new Pipeline(ws, { steps: chain() }), { onPrepare() {} })).waitForCompletion();
    engineMs.push((performance.now() - t) / N);
    if (view.status !== "completed") throw new Error(`slurm chain ended ${view.status}: ${JSON.stringify(view.steps.find((s) => s.error))}`);
  }
  const e = median(engineMs);
  const w = median(waitMs);
  const p = median(pollMs);
  results.trivialStep = {
    steps: N, engineMsPerStep: Math.round(e), sbatchWaitMsPerJob: Math.round(w), ratio: +(e / w).toFixed(2), goal: "ratio ≤ 1.2",
    squeuePoll50msMsPerJob: Math.round(p), ratioVsTightPoll: +(e / p).toFixed(2),
  };
  log("trivial step on slurm vs sbatch --wait and vs a 50 ms squeue poll:", results.trivialStep);
  await ws.close();
} finally {
  await cluster.stop();
  await rm(root, { recursive: true, force: true });
}
console.log(JSON.stringify(results));
