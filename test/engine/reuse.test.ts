import { rm, writeFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CommandStep, DataReference, Environment, Experiment, Pipeline, PipelineData, PipelineParameter, RunConfiguration,
  type PipelineStep, type RunView, type SubmitOptions,
} from "pipebook";
import { sandbox, type Sandbox } from "./helpers.js";

let sb: Sandbox;
beforeEach(async () => (sb = await sandbox()));
afterEach(async () => sb.close());

async function submit(steps: PipelineStep[], options: SubmitOptions = {}): Promise<RunView> {
  const run = await new Experiment(sb.ws, "reuse").submit(new Pipeline(sb.ws, { steps }), options);
  return run.waitForCompletion();
}

function status(view: RunView, step: string): string {
  return view.steps.find((s) => s.name === step)!.status;
}

function why(view: RunView, step: string): string {
  return view.steps.find((s) => s.name === step)!.why ?? "";
}

describe("reuse", () => {
  it("reuses an unchanged step without running it, and reruns on a change inside the source folder", async () => {
    await sb.write("src/run.sh", `${sb.counter("s")}\n`);
    await sb.write("src/lib.txt", "v1");
    const make = () => new CommandStep({ name: "s", command: "sh run.sh", sourceDirectory: join(sb.dir, "src") });
    expect(status(await submit([make()]), "s")).toBe("completed");
    const second = await submit([make()]);
    expect(status(second, "s")).toBe("reused");
    expect(second.steps[0]!.reusedFrom?.runId).toBeTruthy();
    expect(await sb.count("s")).toBe(1);
    await sb.write("src/lib.txt", "v2");
    const third = await submit([make()]);
    expect(status(third, "s")).toBe("completed");
    expect(why(third, "s")).toBe("source file lib.txt modified");
    expect(await sb.count("s")).toBe(2);
  });

  it("does not rerun for a file ignored by .amlignore, and .amlignore replaces .gitignore in its folder", async () => {
    await sb.write("src/run.sh", `${sb.counter("s")}\n`);
    await sb.write("src/.amlignore", "notes/\n");
    await sb.write("src/.gitignore", "*.log\n");
    const make = () => new CommandStep({ name: "s", command: "sh run.sh", sourceDirectory: join(sb.dir, "src") });
    await submit([make()]);
    await sb.write("src/notes/todo.txt", "an ignored note");
    expect(status(await submit([make()]), "s")).toBe("reused");
    await sb.write("src/debug.log", "not ignored: .gitignore is not used where .amlignore exists");
    const view = await submit([make()]);
    expect(status(view, "s")).toBe("completed");
    expect(why(view, "s")).toBe("source file debug.log added");
    expect(await sb.count("s")).toBe(2);
  });

  it("honours a .gitignore alone, in nested folders too", async () => {
    await sb.write("src/run.sh", `${sb.counter("s")}\n`);
    await sb.write("src/.gitignore", "*.log\n");
    await sb.write("src/sub/.gitignore", "cache/\n");
    const make = () => new CommandStep({ name: "s", command: "sh run.sh", sourceDirectory: join(sb.dir, "src") });
    await submit([make()]);
    await sb.write("src/sub/trace.log", "x");
    await sb.write("src/sub/cache/blob", "x");
    expect(status(await submit([make()]), "s")).toBe("reused");
    await sb.write("src/sub/code.py", "x");
    expect(status(await submit([make()]), "s")).toBe("completed");
  });

  it("reruns when an input file's content changes, not when it is rewritten identically", async () => {
    const store = sb.ws.getDefaultDatastore();
    const local = await sb.write("data.csv", "a,b\n1,2\n");
    await store.uploadFiles([local], { targetPath: "in", overwrite: true });
    const raw = new DataReference({ datastore: store, dataReferenceName: "raw", pathOnDatastore: "in/data.csv" });
    const make = () => new CommandStep({ name: "read", command: `${sb.counter("read")}; cat`, arguments: [raw] });
    await submit([make()]);
    await store.uploadFiles([local], { targetPath: "in", overwrite: true });
    expect(status(await submit([make()]), "read")).toBe("reused");
    await writeFile(local, "a,b\n1,3\n");
    await store.uploadFiles([local], { targetPath: "in", overwrite: true });
    const view = await submit([make()]);
    expect(status(view, "read")).toBe("completed");
    expect(why(view, "read")).toMatch(/^input raw changed content/);
    expect(await sb.count("read")).toBe(2);
  });

  it("reruns on a changed parameter and reuses the earlier result when it is changed back", async () => {
    const lr = new PipelineParameter("lr", 0.1);
    const make = () => new CommandStep({ name: "train", command: `${sb.counter("train")}; echo`, arguments: ["--lr", lr] });
    await submit([make()]);
    const changed = await submit([make()], { parameterAssignments: { lr: 0.5 } });
    expect(why(changed, "train")).toBe("parameter lr changed 0.1 → 0.5");
    const back = await submit([make()], { parameterAssignments: { lr: 0.1 } });
    expect(status(back, "train")).toBe("reused");
    expect(await sb.count("train")).toBe(2);
  });

  it("refuses unknown parameters and values of the wrong type, naming them", async () => {
    const lr = new PipelineParameter("lr", 0.1);
    const p = new Pipeline(sb.ws, { steps: [new CommandStep({ name: "t", command: "echo", arguments: [lr] })] });
    const exp = new Experiment(sb.ws, "params");
    await expect(exp.submit(p, { parameterAssignments: { lrr: 1 } })).rejects.toThrow(/unknown parameter "lrr" \(the pipeline has lr\)/);
    await expect(exp.submit(p, { parameterAssignments: { lr: "0.5" } })).rejects.toThrow(/parameter "lr" must be a number \(its default is 0.1\), got "0.5"/);
    expect(sb.ws.runs.listRuns()).toHaveLength(0);
  });

  it("reruns on a changed env var or argument, and not for an env var excluded from the key", async () => {
    const make = (level: string, mode: string, arg: string) =>
      new CommandStep({
        name: "s", command: `${sb.counter("s")}; echo`, arguments: [arg],
        runconfig: new RunConfiguration({ environment: Environment.system({ envVars: { MODE: mode, LOG_LEVEL: level } }) }),
        excludeFromKey: ["LOG_LEVEL"],
      });
    await submit([make("info", "fast", "x")]);
    expect(status(await submit([make("debug", "fast", "x")]), "s")).toBe("reused");
    expect(why(await submit([make("debug", "slow", "x")]), "s")).toBe('env var MODE changed "fast" → "slow"');
    expect(why(await submit([make("debug", "slow", "y")]), "s")).toBe("arguments changed: [x] → [y]");
    expect(await sb.count("s")).toBe(3);
  });

  it("reruns when a file named in hashPaths changes", async () => {
    await sb.write("src/run.sh", `${sb.counter("s")}\n`);
    await sb.write("shared/config.yaml", "a: 1");
    const make = () => new CommandStep({ name: "s", command: "sh run.sh", sourceDirectory: join(sb.dir, "src"), hashPaths: [join(sb.dir, "shared")] });
    await submit([make()]);
    expect(status(await submit([make()]), "s")).toBe("reused");
    await sb.write("shared/config.yaml", "a: 2");
    const view = await submit([make()]);
    expect(why(view, "s")).toMatch(/^hashed path .*shared\/config.yaml modified$/);
  });

  it("reuses downstream steps when an upstream rerun produces identical output, reruns them when it differs", async () => {
    const d = new PipelineData("d");
    const up = (msg: string, salt: string) => new CommandStep({ name: "up", command: `${sb.counter("up")}; echo ${msg} > "$PIPEBOOK_OUTPUT_D/x"; true ${salt}`, outputs: [d] });
    const down = () => new CommandStep({ name: "down", command: `${sb.counter("down")}; cat "$PIPEBOOK_INPUT_D/x"`, inputs: [d] });
    await submit([up("hello", "1"), down()]);
    const same = await submit([up("hello", "2"), down()]);
    expect([status(same, "up"), status(same, "down")]).toEqual(["completed", "reused"]);
    const diff = await submit([up("bye", "2"), down()]);
    expect([status(diff, "up"), status(diff, "down")]).toEqual(["completed", "completed"]);
    expect(why(diff, "down")).toMatch(/^input d changed content/);
    expect([await sb.count("up"), await sb.count("down")]).toEqual([3, 2]);
  });

  it("reruns a step whose earlier outputs were deleted or modified, saying so", async () => {
    const d = new PipelineData("d");
    const make = () => new CommandStep({ name: "p", command: `${sb.counter("p")}; echo data > "$PIPEBOOK_OUTPUT_D/x"`, outputs: [d] });
    const first = await submit([make()]);
    const outPath = first.steps[0]!.outputViews[0]!.path!;
    expect(await readFile(join(outPath, "x"), "utf8")).toBe("data\n");
    await rm(outPath, { recursive: true });
    const afterDelete = await submit([make()]);
    expect(status(afterDelete, "p")).toBe("completed");
    expect(why(afterDelete, "p")).toMatch(/could not be reused: output "d" no longer exists/);
    const newPath = afterDelete.steps[0]!.outputViews[0]!.path!;
    await writeFile(join(newPath, "x"), "tampered\n");
    const afterEdit = await submit([make()]);
    expect(why(afterEdit, "p")).toMatch(/output "d" was modified after it was produced/);
    expect(await sb.count("p")).toBe(3);
  });

  it("runs every step with regenerateOutputs and a step with allowReuse=false every time", async () => {
    const make = () => [
      new CommandStep({ name: "a", command: sb.counter("a") }),
      new CommandStep({ name: "b", command: sb.counter("b"), allowReuse: false }),
    ];
    await submit(make());
    const again = await submit(make());
    expect([status(again, "a"), status(again, "b")]).toEqual(["reused", "completed"]);
    expect(why(again, "b")).toBe("ran because the step sets allowReuse=false");
    const regen = await submit(make(), { regenerateOutputs: true });
    expect([status(regen, "a"), status(regen, "b")]).toEqual(["completed", "completed"]);
    expect(why(regen, "a")).toBe("ran because the run was submitted with regenerateOutputs");
    expect([await sb.count("a"), await sb.count("b")]).toEqual([2, 3]);
    // A step that runs whatever the store holds has its key made after it started, and recorded
    // all the same: the next run reuses that newest result.
    const after = await submit(make());
    expect(status(after, "a")).toBe("reused");
    expect(after.steps.find((s) => s.name === "a")!.reusedFrom?.runId).toBe(regen.runId);
  });

  it("runs a step once when two identical runs are submitted together: the second waits and reuses it", async () => {
    const out = new PipelineData("out");
    const make = () => [new CommandStep({ name: "slow", command: `${sb.counter("slow")} && sleep 1 && echo done > "$PIPEBOOK_OUTPUT_OUT/x"`, outputs: [out] })];
    const runs = await Promise.all([0, 1].map(() => new Experiment(sb.ws, "twins").submit(new Pipeline(sb.ws, { steps: make() }))));
    const views = await Promise.all(runs.map((r) => r.waitForCompletion()));
    expect(views.map((v) => status(v, "slow")).sort()).toEqual(["completed", "reused"]);
    expect(await sb.count("slow")).toBe(1);
    const reused = views.find((v) => status(v, "slow") === "reused")!;
    const ran = views.find((v) => status(v, "slow") === "completed")!;
    expect(reused.steps[0]!.reusedFrom?.runId).toBe(ran.runId);
  });
});
