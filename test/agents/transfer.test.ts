import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommandStep, Experiment, PipelineData, Pipeline, PythonScriptStep, RunConfiguration } from "pipebook";
import { agentSandbox, type AgentSandbox } from "./helpers.js";

// Stand-in GPUs (PIPEBOOK_GPUS=0,1; see helpers.ts).
let as: AgentSandbox;
beforeEach(async () => (as = await agentSandbox()));
afterEach(async () => as.close());

describe("data by content between a server and its agents", () => {
  it("runs a Python step's code snapshot on the agent, metrics streamed back", async () => {
    as.agent("gpu-1");
    await as.waitForAgent("gpu-1");
    await as.sb.write("src/train.py", 'import os\nfrom pipebook_run import log\nfrom helper import answer\nprint("answer", answer(), "gpus", os.environ["CUDA_VISIBLE_DEVICES"])\nlog("accuracy", 0.93)\n');
    await as.sb.write("src/helper.py", "def answer():\n    return 42\n");
    const view = await (await new Experiment(as.ws, "transfer").submit(new Pipeline(as.ws, {
      steps: [new PythonScriptStep({ name: "train", scriptName: "train.py", sourceDirectory: `${as.sb.dir}/src`, computeTarget: "a100", runconfig: new RunConfiguration({ gpus: 1 }) })],
    }))).waitForCompletion();
    expect(view.steps[0]!.status).toBe("completed");
    expect(view.steps[0]!.logTail).toContain("answer 42 gpus 0\n");
    expect(view.steps[0]!.metrics).toMatchObject([{ name: "accuracy", points: [{ value: 0.93 }] }]);
  });

  it("moves an input once: the second run sends 0 input bytes; outputs come back verified and feed a local step", async () => {
    as.agent("gpu-1");
    await as.waitForAgent("gpu-1");
    const pipeline = () => {
      const data = new PipelineData("data");
      const trained = new PipelineData("model");
      return new Pipeline(as.ws, {
        steps: [
          // 3 MiB made locally (reused by the second run), read on the agent.
          new CommandStep({ name: "make", command: 'head -c 3145728 /dev/zero > "$PIPEBOOK_OUTPUT_DATA/zeros.bin"; echo hi > "$PIPEBOOK_OUTPUT_DATA/small.txt"', outputs: [data] }),
          new CommandStep({
            name: "train", allowReuse: false, computeTarget: "a100", runconfig: new RunConfiguration({ gpus: 1 }), inputs: [data], outputs: [trained],
            command: 'wc -c < "$PIPEBOOK_INPUT_DATA/zeros.bin" > "$PIPEBOOK_OUTPUT_MODEL/size"; cat "$PIPEBOOK_INPUT_DATA/small.txt"; echo "live line"',
          }),
          new CommandStep({ name: "check", allowReuse: false, inputs: [trained], command: 'echo "size=$(cat "$PIPEBOOK_INPUT_MODEL/size")"' }),
        ],
      });
    };
    const first = await (await new Experiment(as.ws, "transfer").submit(pipeline())).waitForCompletion();
    expect(first.steps.map((s) => s.status)).toEqual(["completed", "completed", "completed"]);
    const train1 = first.steps.find((s) => s.name === "train")!.logTail ?? "";
    expect(train1).toContain("hi\nlive line\n");
    expect(train1).toContain("[pipebook] inputs: 3.0 MiB moved to agent gpu-1, 0 B already in its cache; outputs: 8 B uploaded");
    expect(first.steps.find((s) => s.name === "check")!.logTail).toContain("size=3145728");

    const second = await (await new Experiment(as.ws, "transfer").submit(pipeline())).waitForCompletion();
    expect(second.steps.map((s) => s.status)).toEqual(["reused", "completed", "completed"]);
    expect(second.steps.find((s) => s.name === "train")!.logTail).toContain("[pipebook] inputs: 0 B moved to agent gpu-1, 3.0 MiB already in its cache; outputs: 0 B uploaded, 8 B already on the server");
  });

  it("keeps its cache within --cache-limit: the input used longest ago goes after a job, and is fetched again when named", async () => {
    const agent = as.agent("gpu-1", { cacheLimit: "4MiB" });
    await as.waitForAgent("gpu-1");
    // 3 MiB made locally (zeros or 'a's), read on the agent: two inputs do not fit in 4 MiB.
    const run = async (fill: string) => {
      const data = new PipelineData("data");
      const view = await (await new Experiment(as.ws, "cache").submit(new Pipeline(as.ws, {
        steps: [
          new CommandStep({ name: "make", command: `head -c 3145728 /dev/zero ${fill} > "$PIPEBOOK_OUTPUT_DATA/blob.bin"`, outputs: [data] }),
          new CommandStep({ name: "read", allowReuse: false, computeTarget: "a100", runconfig: new RunConfiguration({ gpus: 1 }), inputs: [data], command: 'wc -c < "$PIPEBOOK_INPUT_DATA/blob.bin"' }),
        ],
      }))).waitForCompletion();
      expect(view.steps.map((s) => s.status)).toEqual([expect.stringMatching(/completed|reused/), "completed"]);
      return view.steps[1]!.logTail ?? "";
    };
    expect(await run("")).toContain("[pipebook] inputs: 3.0 MiB moved to agent gpu-1, 0 B already in its cache");
    expect(await run("| tr '\\0' a")).toContain("[pipebook] inputs: 3.0 MiB moved to agent gpu-1, 0 B already in its cache");
    expect(agent.log()).toMatch(/cache: removed 1 blob used longest ago \(3\.0 MiB\) to stay within its limit of 4\.0 MiB/);
    // The zeros went; the 'a's stayed.
    expect(await run("")).toContain("[pipebook] inputs: 3.0 MiB moved to agent gpu-1, 0 B already in its cache");
    expect(await run("")).toContain("[pipebook] inputs: 0 B moved to agent gpu-1, 3.0 MiB already in its cache");
  });

  it("refuses a --cache-limit that is not a size", async () => {
    const agent = as.agent("gpu-1", { cacheLimit: "lots" });
    expect((await agent.exited()).code).toBe(2);
    expect(agent.log()).toContain('--cache-limit takes a size such as 50GiB, 500MiB or 2T (got "lots")');
  });
});
