import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CommandStep, ComputeTarget, Experiment, Pipeline, PipelineData, PythonScriptStep, RunConfiguration, Workspace, type PipelineStep, type RunView,
} from "pipebook";
import type { SlurmClusterStatus } from "../support/slurmCluster.js";
import { jobs, slurmCluster } from "../support/slurm.js";
import { REPO, sandbox, type Sandbox } from "./helpers.js";

// Real jobs on the test run's own Slurm cluster (test/support/slurmCluster.ts): slurmctld,
// slurmd and munged on this machine, two stand-in GPUs declared as GRES. Nothing is faked: the
// GPUs are /dev/tty1 and /dev/tty2, but Slurm's GRES scheduling and CUDA_VISIBLE_DEVICES are real.
let cluster: SlurmClusterStatus;
beforeAll(async () => {
  cluster = await slurmCluster();
}, 150_000);

let sb: Sandbox;
beforeEach(async () => {
  sb = await sandbox();
  await ComputeTarget.attach(sb.ws, "cluster", { kind: "slurm", slurmConf: cluster.conf });
});
afterEach(async () => sb.close());

const submit = (steps: PipelineStep[], options: { regenerateOutputs?: boolean } = {}) => new Experiment(sb.ws, "slurm").submit(new Pipeline(sb.ws, { steps }), options);
const run = async (steps: PipelineStep[], options: { regenerateOutputs?: boolean } = {}): Promise<RunView> => (await submit(steps, options)).waitForCompletion();
const onCluster = (options: ConstructorParameters<typeof CommandStep>[0]) => new CommandStep({ computeTarget: "cluster", ...options });
const jobsOf = async (runId: string) => (await jobs(cluster)).filter((j) => j.comment.includes(`run=${runId} `));
const until = async (what: string, check: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`still waiting for ${what} after ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe("steps as Slurm jobs", () => {
  it("runs a pipeline of three steps as jobs, data flowing between them, and reuses all three on the second run", async () => {
    await sb.write("src/count.py", [
      "import os, sys, pathlib",
      "from pipebook_run import log",
      "words = pathlib.Path(os.environ['PIPEBOOK_INPUT_WORDS'], 'words.txt').read_text().split()",
      "pathlib.Path(sys.argv[1], 'count.txt').write_text(str(len(words)))",
      "log('words', len(words))",
      "print('job', os.environ['SLURM_JOB_ID'], 'gpus=[' + os.environ.get('CUDA_VISIBLE_DEVICES', '-') + ']')",
    ].join("\n"));
    const words = new PipelineData("words");
    const count = new PipelineData("count");
    const steps = (): PipelineStep[] => [
      onCluster({ name: "make", command: `${sb.counter("make")}; echo "a b c d" > "$PIPEBOOK_OUTPUT_WORDS/words.txt"`, outputs: [words] }),
      new PythonScriptStep({ name: "count", scriptName: "count.py", sourceDirectory: join(sb.dir, "src"), computeTarget: "cluster", arguments: [count], inputs: [words], outputs: [count] }),
      onCluster({ name: "show", command: `${sb.counter("show")}; echo "count=$(cat "$PIPEBOOK_INPUT_COUNT/count.txt")"`, inputs: [count] }),
    ];
    const first = await run(steps());
    expect(first.steps.map((s) => [s.name, s.status, s.error])).toEqual([["make", "completed", undefined], ["count", "completed", undefined], ["show", "completed", undefined]]);
    const counted = first.steps[1]!;
    expect(counted.logTail).toMatch(/\[pipebook\] Slurm job \d+\n/);
    // A step that asked for no GPU sees none, even on a node that has two.
    expect(counted.logTail).toMatch(/job \d+ gpus=\[\]/);
    expect(counted.metrics).toEqual([{ name: "words", points: [{ index: 0, value: 4 }] }]);
    expect(first.steps[2]!.logTail).toContain("count=4");
    expect(await readFile(join(counted.outputViews[0]!.path!, "count.txt"), "utf8")).toBe("4");

    // Each step was one job, named after its step run, its comment naming run and step run.
    const ran = await jobsOf(first.runId);
    expect(ran.map((j) => [j.name, j.state]).sort()).toEqual(
      ["make", "count", "show"].map((s) => [`pipebook.${first.runId}.${s}`, "COMPLETED"]).sort(),
    );
    expect(ran.every((j) => / step-run=\S+$/.test(j.comment))).toBe(true);

    const second = await run(steps());
    expect(second.steps.map((s) => s.status)).toEqual(["reused", "reused", "reused"]);
    expect(await jobsOf(second.runId)).toEqual([]);
    expect([await sb.count("make"), await sb.count("show")]).toEqual([1, 1]);
  });

  it("gives two one-GPU steps different GPUs from GRES while a third waits in Slurm's queue for one of them", async () => {
    const gpu = (name: string) => onCluster({
      name, allowReuse: false, runconfig: new RunConfiguration({ gpus: 1 }),
      command: `echo "start $(date +%s%N) gpu=[$CUDA_VISIBLE_DEVICES]"; sleep 3; echo "end $(date +%s%N)"`,
    });
    const view = await run([gpu("a"), gpu("b"), gpu("c")]);
    expect(view.steps.map((s) => s.status)).toEqual(["completed", "completed", "completed"]);
    const seen = view.steps.map((s) => {
      const log = s.logTail ?? "";
      return { name: s.name, log, gpu: /gpu=\[(\d*)\]/.exec(log)?.[1], start: BigInt(/start (\d+)/.exec(log)![1]!), end: BigInt(/end (\d+)/.exec(log)![1]!) };
    });
    // Every step saw one GPU, 0 or 1; the one that waited says so, and started only after another ended.
    expect(seen.map((s) => s.gpu).every((g) => g === "0" || g === "1")).toBe(true);
    const waited = seen.filter((s) => s.log.includes("[pipebook] pending in partition debug: Resources"));
    expect(waited).toHaveLength(1);
    const others = seen.filter((s) => s !== waited[0]);
    expect(others[0]!.gpu).not.toBe(others[1]!.gpu);
    // Both first two were handed to Slurm at once (pipebook held nothing back): they overlapped.
    expect(others[0]!.start < others[1]!.end && others[1]!.start < others[0]!.end).toBe(true);
    expect(waited[0]!.start >= (others[0]!.end < others[1]!.end ? others[0]!.end : others[1]!.end)).toBe(true);
  });

  it("ends a step over its time limit as timed out, and its job is canceled", async () => {
    const view = await run([onCluster({ name: "slow", command: "echo started; sleep 120", timeoutSeconds: 2 })]);
    expect(view.steps[0]).toMatchObject({ status: "failed", error: 'step "slow" timed out after 2s and was stopped' });
    expect(view.steps[0]!.logTail).toContain("started");
    const [job] = await jobsOf(view.runId);
    expect(job!.state).toMatch(/^(CANCELLED|COMPLETING)$/);
  });

  it("cancels a running job with scancel when the run is canceled, and skips what would follow", async () => {
    const data = new PipelineData("data");
    const r = await submit([
      onCluster({ name: "long", command: `echo "working" > "$PIPEBOOK_OUTPUT_DATA/f"; echo working; sleep 120`, outputs: [data] }),
      onCluster({ name: "after", command: "true", inputs: [data] }),
    ]);
    await until("the job to run", async () => (await r.getSteps())[0]!.status === "running");
    r.cancel();
    const view = await r.waitForCompletion();
    expect(view.status).toBe("canceled");
    expect(view.steps.map((s) => s.status)).toEqual(["canceled", "skipped"]);
    await until("Slurm to end the job", async () => (await jobsOf(r.id)).every((j) => j.state === "CANCELLED"));
  });

  it("fails a step with its exit code and the last line it wrote to stderr", async () => {
    const view = await run([onCluster({ name: "bad", command: 'echo "some output"; echo "warming up" >&2; echo "ValueError: the data is empty" >&2; exit 3' })]);
    expect(view.steps[0]).toMatchObject({ status: "failed", exitCode: 3, error: 'step "bad" exited with code 3: ValueError: the data is empty' });
    expect(view.steps[0]!.logTail).toContain("some output");
  });

  it("fails a step that uses more memory than it asked for, in Slurm's words", async () => {
    const view = await run([onCluster({
      name: "greedy", runconfig: new RunConfiguration({ memoryMb: 50 }),
      command: `python3 -c "import time; x = b'x' * (300 * 2**20); time.sleep(30); print('survived')"`,
    })]);
    expect(view.steps[0]!.status).toBe("failed");
    // Under cgroups Slurm says OUT_OF_MEMORY; here slurmstepd's own accounting kills the step.
    // slurmstepd words it "Exceeded job memory limit" or "…exceeded memory limit (N > M), being killed",
    // whichever line it wrote last.
    expect(view.steps[0]!.error).toMatch(/^step "greedy" was killed by (SIGKILL: .*[Ee]xceeded (job )?memory limit|Slurm for using more memory than the 50 MiB it asked for \(OUT_OF_MEMORY)/);
    expect(view.steps[0]!.logTail).not.toContain("survived");
  });

  it("shows a job's output while the job still runs", async () => {
    const flag = join(sb.dir, "go");
    const r = await submit([onCluster({ name: "chatty", command: `echo "first line"; while [ ! -e ${flag} ]; do sleep 0.1; done; echo "last line"` })]);
    const lines: string[] = [];
    r.onEvent((e) => e.type === "step-log" && lines.push(e.text));
    await until("the first line while the job runs", () => lines.join("").includes("first line"));
    expect((await jobsOf(r.id)).map((j) => j.state)).toEqual(["RUNNING"]);
    expect((await r.view()).steps[0]!.logTail).toContain("first line");
    await writeFile(flag, "");
    const view = await r.waitForCompletion();
    expect(view.steps[0]!.status).toBe("completed");
    expect(view.steps[0]!.logTail).toMatch(/first line\nlast line\n$/);
  });

  it("stages code, inputs and outputs in a staging folder and brings outputs back", async () => {
    const staging = await mkdtemp(join(tmpdir(), "pipebook-staging-"));
    try {
      await ComputeTarget.attach(sb.ws, "staged", { kind: "slurm", slurmConf: cluster.conf, stagingDir: staging });
      await sb.write("src/shout.sh", 'tr a-z A-Z < "$1/in.txt" > "$2/out.txt"; pwd\n');
      const text = new PipelineData("text");
      const loud = new PipelineData("loud");
      const view = await run([
        new CommandStep({ name: "write", command: `echo hello > "$PIPEBOOK_OUTPUT_TEXT/in.txt"`, outputs: [text] }),
        new CommandStep({ name: "shout", command: "sh shout.sh", sourceDirectory: join(sb.dir, "src"), arguments: [text, loud], inputs: [text], outputs: [loud], computeTarget: "staged" }),
      ]);
      expect(view.steps.map((s) => s.status)).toEqual(["completed", "completed"]);
      const shout = view.steps[1]!;
      // The step ran in the staging folder and read its input from there, not from the workspace.
      expect(shout.logTail).toContain(`${staging}/`);
      expect(await readFile(join(shout.outputViews[0]!.path!, "out.txt"), "utf8")).toBe("HELLO\n");
      // What stays staged is the input by digest (shared by later jobs) and the helpers; the job's own folder is gone.
      const [wsFolder] = await readdir(staging);
      expect((await readdir(join(staging, wsFolder!))).sort()).toEqual(["data", "runs", "runtime"]);
      expect(await readdir(join(staging, wsFolder!, "runs", view.runId))).toEqual([]);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  });
});

describe("what a slurm target refuses at submit, in one sentence", () => {
  it("Slurm not installed, or its controller not reachable", async () => {
    await ComputeTarget.attach(sb.ws, "nowhere", { kind: "slurm", binDir: "/nonexistent/slurm/bin" });
    await expect(run([new CommandStep({ name: "lost", command: "true", computeTarget: "nowhere" })])).rejects.toThrow(
      /^step "lost": compute target "nowhere" cannot reach Slurm: its commands \(sbatch, squeue, sinfo\) are not installed in \/nonexistent\/slurm\/bin$/,
    );
    await ComputeTarget.attach(sb.ws, "noconf", { kind: "slurm", slurmConf: "/nonexistent/slurm.conf" });
    await expect(run([new CommandStep({ name: "astray", command: "true", computeTarget: "noconf" })])).rejects.toThrow(
      'step "astray": compute target "noconf" cannot reach Slurm: its configuration file /nonexistent/slurm.conf does not exist',
    );
    // A controller that does not answer (Slurm's commands retry for about 10 s before they say so).
    const conf = await sb.write("dead.conf", (await readFile(cluster.conf, "utf8")).replace(/^SlurmctldPort=\d+$/m, "SlurmctldPort=1"));
    await ComputeTarget.attach(sb.ws, "down", { kind: "slurm", slurmConf: conf });
    await expect(run([new CommandStep({ name: "lonely", command: "true", computeTarget: "down" })])).rejects.toThrow(
      /^step "lonely": compute target "down" cannot reach Slurm: .*Unable to contact slurm controller/,
    );
    expect(sb.ws.runs.listRuns()).toHaveLength(0);
  }, 60_000);

  it("a partition the cluster lacks, more GPUs than a node has, a workspace the nodes cannot see", async () => {
    await ComputeTarget.attach(sb.ws, "typo", { kind: "slurm", slurmConf: cluster.conf, partition: "gpuz" });
    await expect(run([new CommandStep({ name: "a", command: "true", computeTarget: "typo" })])).rejects.toThrow(
      'step "a": compute target "typo" cannot use Slurm: the cluster has no partition "gpuz" (partitions: debug, remote)',
    );
    await expect(run([onCluster({ name: "big", command: "true", runconfig: new RunConfiguration({ gpus: 3 }) })])).rejects.toThrow(
      'step "big" needs 3 GPUs and compute target "cluster" has 2 (on its largest node in partition "debug")',
    );
    // The "remote" partition's node is not this machine, and the sandbox is on a local file system.
    await ComputeTarget.attach(sb.ws, "far", { kind: "slurm", slurmConf: cluster.conf, partition: "remote" });
    await expect(run([new CommandStep({ name: "b", command: "true", computeTarget: "far" })])).rejects.toThrow(
      new RegExp(`^step "b": compute target "far" runs steps in partition "remote" on nodes other than this machine, which cannot see ${sb.ws.dir}: it is on \\S+ \\(mounted at \\S+\\), a file system of this machine\\. Set "stagingDir" to a folder on a file system the nodes share \\(NFS, Lustre, GPFS, …\\), or put the workspace on one$`),
    );
    await expect(ComputeTarget.attach(sb.ws, "odd", { kind: "slurm", sbatchOptions: ["--constraint=a100", "--gres=gpu:8"] })).rejects.toThrow(
      /sbatchOptions: --gres=gpu:8 cannot be given: set from the step's gpus/,
    );
    expect(sb.ws.runs.listRuns()).toHaveLength(0);
  });
});

describe("a killed engine's jobs", () => {
  it("are canceled the next time the workspace opens, queued and running alike", async () => {
    const project = await mkdtemp(join(tmpdir(), "pipebook-slurm-kill-"));
    try {
      await writeFile(join(project, "pipebook.json"), JSON.stringify({ computeTargets: { cluster: { kind: "slurm", slurmConf: cluster.conf } } }));
      // Three two-GPU steps on a two-GPU node: one runs, two wait in Slurm's queue.
      await writeFile(join(project, "pipeline.mjs"), [
        `import { CommandStep, Experiment, Pipeline, RunConfiguration, Workspace } from ${JSON.stringify(join(REPO, "engine", "dist", "index.js"))};`,
        `const ws = await Workspace.fromConfig({ path: ${JSON.stringify(project)} });`,
        // Three different steps: identical ones would rightly run once (the others wait to reuse it).
        `const step = (name) => new CommandStep({ name, command: "sleep 120 # " + name, computeTarget: "cluster", runconfig: new RunConfiguration({ gpus: 2 }) });`,
        `await new Experiment(ws, "kill").submit(new Pipeline(ws, { steps: [step("one"), step("two"), step("three")] }));`,
        `setInterval(() => {}, 1000);`,
      ].join("\n"));
      const engine = spawn(process.execPath, [join(project, "pipeline.mjs")], { stdio: "ignore" });
      // This test's jobs: the steps one, two and three of the killed engine's run.
      const ours = async () => (await jobs(cluster)).filter((j) => /^pipebook\.\S+\.(one|two|three)$/.test(j.name) && j.state !== "CANCELLED" && j.state !== "COMPLETED");
      let before: Awaited<ReturnType<typeof ours>> = [];
      await until("one running job and two queued", async () => {
        before = await ours();
        return before.map((j) => j.state).sort().join() === "PENDING,PENDING,RUNNING";
      });
      engine.kill("SIGKILL");
      await new Promise((r) => engine.once("exit", r));
      const ids = new Set(before.map((j) => j.id));
      expect((await jobs(cluster)).filter((j) => ids.has(j.id)).map((j) => j.state).sort()).toEqual(["PENDING", "PENDING", "RUNNING"]);

      const ws = await Workspace.fromConfig({ path: project });
      try {
        await until("Slurm to end the jobs", async () => (await jobs(cluster)).filter((j) => ids.has(j.id)).every((j) => j.state === "CANCELLED"), 30_000);
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
