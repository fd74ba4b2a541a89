import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommandStep, Experiment, Pipeline, RunConfiguration, type PipelineStep } from "pipebook";
import { sandbox, type Sandbox } from "./helpers.js";

// This machine has no GPU: PIPEBOOK_GPUS stands in for nvidia-smi's inventory (a two-GPU box).
// The allocation, exclusivity and CUDA_VISIBLE_DEVICES logic under test is the real one; the
// same pipeline was run against a real H100 through nvidia-smi (see docs/engine.md).
process.env["PIPEBOOK_GPUS"] = "0,1";

let sb: Sandbox;
beforeEach(async () => (sb = await sandbox()));
afterEach(async () => sb.close());

const run = async (steps: PipelineStep[]) =>
  (await new Experiment(sb.ws, "gpu").submit(new Pipeline(sb.ws, { steps }), { concurrency: 8 })).waitForCompletion();

describe("GPU scheduling on local compute", () => {
  it("never gives one GPU to two steps at once, and queues steps until a GPU is free", async () => {
    // Each step claims its GPU with an exclusive marker file: sharing would make one fail.
    const claim = (name: string) =>
      new CommandStep({
        name, allowReuse: false, runconfig: new RunConfiguration({ gpus: 1 }),
        command: `set -C; echo ${name} > ${sb.dir}/busy-$CUDA_VISIBLE_DEVICES || exit 9; echo "$CUDA_VISIBLE_DEVICES" >> ${sb.dir}/used; sleep 0.4; rm ${sb.dir}/busy-$CUDA_VISIBLE_DEVICES`,
      });
    const view = await run(["a", "b", "c", "d"].map(claim));
    expect(view.steps.map((s) => s.status)).toEqual(["completed", "completed", "completed", "completed"]);
    const waited = view.steps.filter((s) => (s.logTail ?? "").includes("[pipebook] waiting for 1 free GPU"));
    expect(waited.length).toBeGreaterThanOrEqual(2);
  });

  it("gives a step exactly the GPUs it asked for and hides GPUs from steps that asked for none", async () => {
    const view = await run([
      new CommandStep({ name: "two", command: 'echo "gpus=[$CUDA_VISIBLE_DEVICES]"', runconfig: new RunConfiguration({ gpus: 2 }) }),
      new CommandStep({ name: "none", command: 'echo "gpus=[$CUDA_VISIBLE_DEVICES]"' }),
    ]);
    expect(view.steps.find((s) => s.name === "two")!.logTail).toContain("gpus=[0,1]");
    expect(view.steps.find((s) => s.name === "none")!.logTail).toContain("gpus=[]");
  });

  it("refuses at submit a step that needs more GPUs than its target has, saying how many there are", async () => {
    await expect(run([new CommandStep({ name: "big", command: "true", runconfig: new RunConfiguration({ gpus: 4 }) })])).rejects.toThrow(
      'step "big" needs 4 GPUs and compute target "local" has 2 (0: GPU 0 (from PIPEBOOK_GPUS), 1: GPU 1 (from PIPEBOOK_GPUS))',
    );
    expect(sb.ws.runs.listRuns()).toHaveLength(0);
  });
});
