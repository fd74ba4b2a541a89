import { rm } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommandStep, Experiment, Pipeline, PipelineData, explainDecision, type PipelineStep } from "pipebook";
import { sandbox, type Sandbox } from "./helpers.js";

let sb: Sandbox;
beforeEach(async () => (sb = await sandbox()));
afterEach(async () => sb.close());

/** Runs steps and returns `pipebook why`'s lines for one of them (the same function the CLI prints). */
async function why(steps: PipelineStep[], name: string, options: { regenerateOutputs?: boolean } = {}): Promise<{ runId: string; lines: string[] }> {
  const run = await new Experiment(sb.ws, "why").submit(new Pipeline(sb.ws, { steps }), options);
  await run.waitForCompletion();
  const step = sb.ws.runs.getSteps(run.id).find((s) => s.name === name)!;
  return { runId: run.id, lines: explainDecision(step.decision!) };
}

describe("pipebook why, for each cause", () => {
  it("first run, reused, key changed, allowReuse=false, regenerateOutputs", async () => {
    const s = (cmd: string, allowReuse = true) => [new CommandStep({ name: "s", command: cmd, allowReuse })];
    const first = await why(s("echo a"), "s");
    expect(first.lines).toEqual(["ran because no earlier run of a step with this name exists in the workspace (first run)"]);
    const reused = await why(s("echo a"), "s");
    expect(reused.lines[0]).toBe(`reused: its key matches step run ${first.runId}.s of run ${first.runId} (experiment why), whose outputs still exist and verify.`);
    const changed = await why(s("echo b"), "s");
    expect(changed.lines).toEqual([
      // Compared with the latest earlier run of the step (here the one that reused).
      `ran because its key differs from step run ${reused.runId}.s (run ${reused.runId}, experiment why):`,
      '  - program changed: echo a → echo b',
    ]);
    expect((await why(s("echo b", false), "s")).lines).toEqual(["ran because the step sets allowReuse=false"]);
    expect((await why(s("echo b"), "s", { regenerateOutputs: true })).lines).toEqual(["ran because the run was submitted with regenerateOutputs"]);
  });

  it("outputs gone, an identical attempt that failed, an upstream failure", async () => {
    const d = new PipelineData("d");
    const producer = () => new CommandStep({ name: "p", command: 'echo x > "$PIPEBOOK_OUTPUT_D/f"', outputs: [d] });
    const first = await why([producer()], "p");
    await rm(sb.ws.runs.getOutputs(`${first.runId}.p`)[0]!.path, { recursive: true });
    const gone = await why([producer()], "p");
    expect(gone.lines).toEqual([
      `its key matched step run ${first.runId}.p (run ${first.runId}), but that result could not be reused:`,
      `  - output "d" no longer exists at ${sb.ws.dataDir}/${first.runId}.p/d`,
      "so it ran again",
    ]);
    const failing = () => new CommandStep({ name: "f", command: "exit 4" });
    const failed = await why([failing()], "f");
    expect((await why([failing()], "f")).lines).toEqual([`ran: the identical earlier attempt in run ${failed.runId} ended failed, so there was nothing to reuse`]);
    const e = new PipelineData("e");
    const down = await why([new CommandStep({ name: "up", command: "exit 1", outputs: [e] }), new CommandStep({ name: "down", command: "true", inputs: [e] })], "down");
    expect(down.lines).toEqual(['not run: upstream step "up" did not complete']);
  });
});
