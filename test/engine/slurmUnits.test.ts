import { describe, expect, it } from "vitest";
import { gpusOf, parseSlurmTime } from "../../engine/src/compute/slurm/SlurmCli.js";
import { batchScript, parseJobComment, sbatchArgs } from "../../engine/src/compute/slurm/sbatchArgs.js";
import { phaseOf, slurmOutcome } from "../../engine/src/compute/slurm/slurmOutcome.js";
import { describeOutcome } from "../../engine/src/runner/describeOutcome.js";
import { Scheduler } from "../../engine/src/runner/Scheduler.js";

// The pure parts of the slurm target, on their own. The endings a one-node test cluster cannot
// produce (a node failing, a preemption, the OOM killer under cgroups) are checked here through
// the mapping from Slurm's job state; everything else runs against the real cluster in slurm.test.ts.

describe("Slurm's endings as outcomes, in Slurm's words", () => {
  const job = { id: "42", reason: "None", nodes: "gpu07", waitStatus: 0 };
  const asked = { timeoutSeconds: 600, memoryMb: 512, jobDir: "/shared/job" };
  const say = (state: string, extra: Partial<typeof job> = {}) => describeOutcome("train", slurmOutcome({ ...job, state, ...extra }, asked), "last line");

  it("words every state a job can end in", () => {
    expect(say("COMPLETED")).toBeUndefined();
    expect(say("FAILED", { reason: "NonZeroExitCode", waitStatus: 3 << 8 })).toBe('step "train" exited with code 3: last line');
    expect(say("FAILED", { reason: "NonZeroExitCode", waitStatus: 9 })).toBe('step "train" was killed by SIGKILL: last line');
    expect(say("TIMEOUT", { reason: "TimeLimit", waitStatus: 15 })).toBe('step "train" timed out after 600s and was stopped');
    expect(say("OUT_OF_MEMORY")).toBe('step "train" was killed by Slurm for using more memory than the 512 MiB it asked for (OUT_OF_MEMORY, job 42 on gpu07): last line');
    expect(say("NODE_FAIL")).toBe('step "train" was stopped: the node running its Slurm job 42 (gpu07) failed (NODE_FAIL)');
    expect(say("PREEMPTED")).toBe('step "train" was stopped: Slurm preempted its job 42 for other work (PREEMPTED)');
    expect(say("CANCELLED")).toBe('step "train" was stopped: its Slurm job 42 was canceled outside pipebook (CANCELLED: scancel, or an administrator)');
    expect(say("BOOT_FAIL")).toBe('step "train" could not start: Slurm could not boot a node for job 42 (BOOT_FAIL)');
    // Over its memory without cgroups: slurmstepd kills it and says so on the step's stderr.
    expect(say("FAILED", { reason: "JobLaunchFailure", waitStatus: 9 })).toBe('step "train" was killed by SIGKILL: last line');
    expect(say("FAILED", { reason: "JobLaunchFailure", waitStatus: 4021 })).toBe(
      'step "train" could not start: Slurm could not start job 42 on gpu07 (JobLaunchFailure); a node that cannot see /shared/job is the usual cause (is it on a file system the nodes share?)',
    );
  });

  it("tells waiting, running and ended apart", () => {
    expect(["PENDING", "CONFIGURING", "REQUEUED"].map(phaseOf)).toEqual(["pending", "pending", "pending"]);
    expect(["RUNNING", "SUSPENDED", "SOME_NEW_STATE"].map(phaseOf)).toEqual(["running", "running", "running"]);
    expect(phaseOf("COMPLETING")).toBe("ending");
    expect(["COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED"].map(phaseOf).every((p) => p === "ended")).toBe(true);
  });
});

describe("what Slurm is asked for", () => {
  it("maps resources to sbatch options and names the job after its step run", () => {
    const args = sbatchArgs(
      { kind: "slurm", partition: "gpu", account: "ml", qos: "high", sbatchOptions: ["--constraint=a100"] },
      { gpus: 2, cpus: 3.5, memoryMb: 2048, timeoutSeconds: 61 },
      { workspaceKey: "abc", runId: "r1", stepRunId: "r1.train", stdout: "/s/out", stderr: "/s/err", workDir: "/s/work" },
    );
    expect(args).toEqual([
      "--job-name=pipebook.r1.train", "--comment=pipebook workspace=abc run=r1 step-run=r1.train", "--output=/s/out", "--error=/s/err", "--chdir=/s/work",
      "--export=ALL", "--no-requeue", "--nodes=1", "--ntasks=1", "--partition=gpu", "--account=ml", "--qos=high",
      "--gres=gpu:2", "--cpus-per-task=4", "--mem=2048M", "--time=2", "--constraint=a100",
    ]);
    expect(parseJobComment("pipebook workspace=abc run=r1 step-run=r1.train")).toEqual({ workspaceKey: "abc", runId: "r1", stepRunId: "r1.train" });
    expect(parseJobComment("someone else's job")).toBeUndefined();
  });

  it("writes a script that hides GPUs from a step that asked for none and refuses to run outside its folder", () => {
    const script = batchScript(["python3", "-u", "my script.py"], "/shared/work", true);
    expect(script).toContain("cd /shared/work || {");
    expect(script).toContain("export CUDA_VISIBLE_DEVICES=\nexec python3 -u 'my script.py'\n");
    expect(batchScript(["true"], "/w", false)).not.toContain("CUDA_VISIBLE_DEVICES");
  });

  it("reads GPUs from GRES and Slurm's time words", () => {
    expect(["gpu:2", "gpu:a100:4(S:0-1)", "gpu:a100:2,gpu:v100:1", "(null)", "mps:100,gpu:tesla:2(S:0,1)"].map(gpusOf)).toEqual([2, 4, 3, 0, 2]);
    expect(["infinite", "UNLIMITED", "30", "1:30", "2:00:00", "1-12:00:00", "2-3"].map(parseSlurmTime)).toEqual([undefined, undefined, 1800, 90, 7200, 129600, 183600]);
  });
});

describe("the scheduler with a target that queues", () => {
  it("hands every ready step on such a target over at once, outside the run's concurrency", () => {
    const graph = { upstream: [[], [], [], []], downstream: [[], [], [], []] };
    const demand = (target: string) => ({ target, gpus: 1, cpus: 0, memoryMb: 0 });
    const s = new Scheduler(
      graph, [demand("cluster"), demand("cluster"), demand("cluster"), demand("local")],
      new Map([["cluster", { gpus: Infinity, cpus: Infinity, memoryMb: Infinity, queues: true as const }], ["local", { gpus: 1, cpus: 8, memoryMb: 8000 }]]),
      1,
    );
    // Three GPU steps go to the cluster although the run runs one step at a time; the local one still may start.
    expect(s.take()).toEqual([0, 1, 2, 3]);
    s.finish(0, true);
    s.finish(1, true);
    s.finish(2, true);
    s.finish(3, true);
    expect(s.done).toBe(true);
  });
});
