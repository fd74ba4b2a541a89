import { readdirSync, readFileSync, utimesSync, existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommandStep, Dataset, Experiment, Pipeline, PythonScriptStep } from "pipebook";
import { collectGarbage } from "../../engine/dist/artifacts/collectGarbage.js";
import { pipebook, sandbox, type Sandbox } from "./helpers.js";

let sb: Sandbox;
beforeEach(async () => (sb = await sandbox()));
afterEach(async () => sb.close());

const WHY = "blob no run, dataset, module or published pipeline names (a day old)";
const blobItems = async (dryRun = true) => (await collectGarbage(sb.ws, { dryRun })).filter((i) => i.why === WHY).map((i) => i.path);

/** Every blob file of the workspace, made two days old: kept or not by what names it, not by age. */
function ageAllBlobs(): void {
  const root = join(sb.ws.blobs.root, "sha256");
  const old = new Date(Date.now() - 2 * 86_400_000);
  for (const shard of readdirSync(root)) for (const name of readdirSync(join(root, shard))) utimesSync(join(root, shard, name), old, old);
}

describe("pipebook gc and the blob store", () => {
  it("removes day-old blobs nothing names, keeps a run's snapshot and a dataset version's files (through their manifests), and none while a run is active", async () => {
    await sb.write("src/train.py", "from lib import answer\nprint('answer', answer())\n");
    await sb.write("src/lib.py", "def answer():\n    return 42\n");
    const view = await (await new Experiment(sb.ws, "gc").submit(new Pipeline(sb.ws, {
      steps: [new PythonScriptStep({ name: "train", scriptName: "train.py", sourceDirectory: join(sb.dir, "src") })],
    }))).waitForCompletion();
    expect(view.steps[0]!.status).toBe("completed");
    await sb.upload("docs/a.txt", "alpha\n");
    await Dataset.File.fromFiles([[sb.ws.getDefaultDatastore(), "docs"]]).register(sb.ws, { name: "docs" });
    // What an agent's output or a submit that never came leaves: named by no record.
    const left = sb.ws.blobs.pathOf(await sb.ws.blobs.putBytes("an agent's output, copied into the data folder since"));
    ageAllBlobs();
    const fresh = sb.ws.blobs.pathOf(await sb.ws.blobs.putBytes("code uploaded a moment ago for a submit in flight"));

    expect(await blobItems()).toEqual([left]);
    const dry = await pipebook(sb.dir, "gc", "--dry-run");
    expect(dry.stdout).toContain(`would remove ${left} (`);
    expect(dry.stdout).toContain(WHY);

    // A run in flight may be about to read any blob (an agent's job input): none is listed.
    const running = await new Experiment(sb.ws, "gc").submit(new Pipeline(sb.ws, { steps: [new CommandStep({ name: "wait", command: "sleep 30" })] }));
    expect(await blobItems()).toEqual([]);
    await running.cancel();
    await running.waitForCompletion();

    expect(await blobItems(false)).toEqual([left]);
    expect([existsSync(left), existsSync(fresh)]).toEqual([false, true]);
    // The run's code and the dataset's files are all still there.
    const out = join(sb.dir, "restored");
    expect((await pipebook(sb.dir, "snapshot", view.runId, "train", "--out", out)).code).toBe(0);
    expect(readFileSync(join(out, "lib.py"), "utf8")).toBe("def answer():\n    return 42\n");
    // gc removed the dataset's layout too: the step's input is laid out again from its blobs.
    const read = await (await new Experiment(sb.ws, "gc").submit(new Pipeline(sb.ws, {
      steps: [new CommandStep({ name: "read", command: 'cat "$PIPEBOOK_INPUT_DOCS/a.txt"', inputs: [Dataset.getByName(sb.ws, "docs").asNamedInput("docs").asDownload()] })],
    }))).waitForCompletion();
    expect([read.steps[0]!.status, read.steps[0]!.logTail]).toEqual(["completed", "alpha\n"]);
    expect(await blobItems()).toEqual([]);
  });
});
