import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CommandStep, ComputeTarget, Environment, Experiment, Pipeline, PipelineData, RunConfiguration, Workspace } from "pipebook";
import { hashTree } from "../../engine/src/fingerprint/hashTree.js";
import { dockerHost, testImage } from "../support/docker.js";
import { slurmCluster } from "../support/slurm.js";
import { sandbox, type Sandbox } from "./helpers.js";

// An earlier step's output, read in place by a later step, is read-only to that step on every
// target on this machine: the local one (a read-only bind in a mount namespace of the step's own,
// since these tests run as root, whom permission bits do not stop), Docker (a read-only bind into
// the container) and Slurm (the same bind, made by the job on its node; here the node is this host).
let sb: Sandbox;
beforeEach(async () => (sb = await sandbox()));
afterEach(async () => sb.close());

/**
 * `make` writes model/weights.txt; `tamper` tries to overwrite, delete and create in it (each
 * attempt that succeeds prints WROTE), then appends to it as its last command, which must fail
 * the step.
 */
async function tamperWithInput(extra: { computeTarget?: string; runconfig?: RunConfiguration } = {}) {
  const model = new PipelineData("model");
  const make = new CommandStep({ name: "make", allowReuse: false, outputs: [model], command: 'echo weights-1 > "$PIPEBOOK_OUTPUT_MODEL/weights.txt"' });
  const tamper = new CommandStep({
    name: "tamper", allowReuse: false, inputs: [model], ...extra,
    command: [
      'in="$PIPEBOOK_INPUT_MODEL"',
      'if echo evil > "$in/weights.txt"; then echo WROTE; fi',
      'if rm -f "$in/weights.txt" && [ ! -e "$in/weights.txt" ]; then echo WROTE; fi',
      'if touch "$in/new.txt"; then echo WROTE; fi',
      'echo more >> "$in/weights.txt"',
    ].join("; "),
  });
  const run = await new Experiment(sb.ws, "ro").submit(new Pipeline(sb.ws, { steps: [make, tamper] }));
  const view = await run.waitForCompletion();
  expect(view.steps.map((s) => [s.name, s.status])).toEqual([["make", "completed"], ["tamper", "failed"]]);
  const tampered = view.steps[1]!;
  expect(tampered.error).toMatch(/^step "tamper" exited with code \d+: .*Read-only file system \(a step's inputs are read-only to it: write into one of its outputs, or copy the input first\)$/);
  const log = readFileSync(join(sb.ws.runsDir, run.id, "tamper", "output.log"), "utf8");
  expect(log).not.toContain("WROTE");
  // The stored output is what `make` wrote, by content and by the digest recorded for it.
  const [stored] = sb.ws.runs.getOutputs(`${run.id}.make`);
  expect(readFileSync(join(stored!.path, "weights.txt"), "utf8")).toBe("weights-1\n");
  expect((await hashTree(stored!.path, { cache: sb.ws.statCache, pool: sb.ws.hashPool })).digest).toBe(stored!.digest);
  return { log };
}

describe("an earlier step's output is read-only to the step that reads it", { timeout: 120_000 }, () => {
  it("on the local target", async () => {
    await tamperWithInput();
  });

  it("on the local target, again after its workspace was deleted and made anew at the same place", async () => {
    await tamperWithInput();
    // The launcher of this process sealed the old data folder; the new one is a new folder.
    await sb.ws.close();
    await rm(join(sb.dir, ".pipebook"), { recursive: true, force: true });
    Object.assign(sb, { ws: await Workspace.fromConfig({ path: sb.dir }) });
    await tamperWithInput();
  });

  describe("in a docker container", () => {
    let busybox: string;
    beforeAll(async () => {
      busybox = await testImage("busybox");
    }, 300_000);

    it("with the output bound read-only into it", async () => {
      await ComputeTarget.attach(sb.ws, "box", { kind: "docker", host: dockerHost(), network: "none" });
      await tamperWithInput({ computeTarget: "box", runconfig: new RunConfiguration({ environment: Environment.docker({ image: busybox }) }) });
    });
  });

  describe("in a Slurm job", () => {
    let conf: string;
    beforeAll(async () => {
      conf = (await slurmCluster()).conf;
    }, 150_000);

    it("with the output bound read-only by the job on its node", async () => {
      await ComputeTarget.attach(sb.ws, "cluster", { kind: "slurm", slurmConf: conf });
      const { log } = await tamperWithInput({ computeTarget: "cluster" });
      expect(log).not.toContain("inputs are not made read-only");
    });
  });
});
