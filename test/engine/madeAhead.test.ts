import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommandStep, Experiment, Pipeline, PipelineData } from "pipebook";
import { sandbox, type Sandbox } from "./helpers.js";

// While a step runs, the engine makes the folders of the step expected after it (runStep.ts
// makeAhead): its step folder and its outputs' folders, and lays out its code where its target
// runs it from (a local step's `work` folder). Each case's first step looks for them
// while it runs, so a case cannot pass with nothing made ahead; afterwards none may be left for
// a step that did not run.

let sb: Sandbox;
beforeEach(async () => {
  sb = await sandbox();
  process.env["PIPEBOOK_TEST_RUNS_DIR"] = sb.ws.runsDir;
  process.env["PIPEBOOK_TEST_DATA_DIR"] = sb.ws.dataDir;
});
afterEach(async () => {
  delete process.env["PIPEBOOK_TEST_RUNS_DIR"];
  delete process.env["PIPEBOOK_TEST_DATA_DIR"];
  await sb.close();
});

/** Shell: waits up to 5 s for step `next`'s folders and its code (made and laid out ahead) and says so. */
const looksForFolders = (self: string, next: string): string => {
  const run = `\${PIPEBOOK_STEP_RUN_ID%.${self}}`;
  return `for i in $(seq 500); do if [ -d "$PIPEBOOK_TEST_RUNS_DIR/${run}/${next}" ] && [ -d "$PIPEBOOK_TEST_DATA_DIR/${run}.${next}/out" ] && [ -f "$PIPEBOOK_TEST_RUNS_DIR/${run}/${next}/work/tool.sh" ]; then echo "${next}'s folders made ahead"; break; fi; sleep 0.01; done`;
};

/** A source folder with one script, tool.sh. */
const tool = async (): Promise<string> => dirname(await sb.write("tool/tool.sh", "echo tool ran\n"));

const foldersOf = (runId: string, step: string): boolean[] => [existsSync(join(sb.ws.runsDir, runId, step)), existsSync(join(sb.ws.dataDir, `${runId}.${step}`))];

describe("folders made ahead for the next step", { timeout: 60_000 }, () => {
  it("are the folders that step runs in", async () => {
    const d = new PipelineData("d");
    const out = new PipelineData("out");
    const run = await new Experiment(sb.ws, "ahead").submit(new Pipeline(sb.ws, {
      steps: [
        new CommandStep({ name: "s1", allowReuse: false, command: `${looksForFolders("s1", "s2")}; echo 1 > "$PIPEBOOK_OUTPUT_D/x"`, outputs: [d] }),
        new CommandStep({ name: "s2", allowReuse: false, sourceDirectory: await tool(), command: `cat "$PIPEBOOK_INPUT_D/x" > "$PIPEBOOK_OUTPUT_OUT/y"; sh tool.sh`, inputs: [d], outputs: [out] }),
      ],
    }));
    const view = await run.waitForCompletion();
    expect(view.status, JSON.stringify(view.steps.map((s) => [s.status, s.error, s.logTail]))).toBe("completed");
    expect(view.steps[0]!.logTail).toContain("s2's folders made ahead");
    expect(view.steps[1]!.logTail).toContain("tool ran");
    expect(foldersOf(run.id, "s2")).toEqual([true, true]);
  });

  it("are removed when that step is reused or never runs", async () => {
    const d = new PipelineData("d");
    const out = new PipelineData("out");
    const source = await tool();
    const steps = (s1: string) => [
      new CommandStep({ name: "s1", allowReuse: false, command: s1, outputs: [d] }),
      new CommandStep({ name: "s2", sourceDirectory: source, command: `cat "$PIPEBOOK_INPUT_D/x" > "$PIPEBOOK_OUTPUT_OUT/y"; sh tool.sh`, inputs: [d], outputs: [out] }),
    ];
    const writes = `${looksForFolders("s1", "s2")}; echo 1 > "$PIPEBOOK_OUTPUT_D/x"`;
    const first = await new Experiment(sb.ws, "ahead").submit(new Pipeline(sb.ws, { steps: steps(writes) }));
    expect((await first.waitForCompletion()).status).toBe("completed");

    // s1 runs again with the same output: s2 is reused, and its folders made ahead go.
    const again = await new Experiment(sb.ws, "ahead").submit(new Pipeline(sb.ws, { steps: steps(writes) }));
    const view = await again.waitForCompletion();
    expect(view.steps.map((s) => s.status)).toEqual(["completed", "reused"]);
    expect(view.steps[0]!.logTail).toContain("s2's folders made ahead");
    expect(foldersOf(again.id, "s2")).toEqual([false, false]);

    // s1 fails: s2 never runs, and its folders go.
    const failed = await new Experiment(sb.ws, "ahead").submit(new Pipeline(sb.ws, { steps: steps(`${looksForFolders("s1", "s2")}; exit 3`) }));
    const failedView = await failed.waitForCompletion();
    expect(failedView.status).toBe("failed");
    expect(failedView.steps[0]!.logTail).toContain("s2's folders made ahead");
    expect(foldersOf(failed.id, "s2")).toEqual([false, false]);
  });
});
