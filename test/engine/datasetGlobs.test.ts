import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommandStep, Dataset, Experiment, Pipeline, explainDecision } from "pipebook";
import { sandbox, settle, type Sandbox } from "./helpers.js";

let sb: Sandbox;
beforeEach(async () => (sb = await sandbox()));
afterEach(async () => sb.close());

describe("globs in dataset paths", () => {
  it("reads the matching files in order, ** crosses folders, no match is one sentence; a new matching file reruns a step", async () => {
    await sb.upload("data/b.csv", "x,y\n3,4\n");
    await sb.upload("data/a.csv", "x,y\n1,2\n");
    await sb.upload("data/notes.txt", "not a table\n");
    await sb.upload("data/2024/c.csv", "x,y\n5,6\n");
    const store = sb.ws.getDefaultDatastore();

    const flat = Dataset.Tabular.fromDelimitedFiles([[store, "data/*.csv"]]);
    expect((await flat.toRecords()).map((r) => r["x"])).toEqual(["1", "3"]);
    const deep = Dataset.Tabular.fromDelimitedFiles([[store, "data/**/*.csv"]]);
    expect((await deep.toRecords()).map((r) => r["x"])).toEqual(["5", "1", "3"]);
    expect((await Dataset.File.fromFiles([[store, "data/[ab].csv"]]).files(sb.ws)).map((f) => f.rel)).toEqual(["a.csv", "b.csv"]);

    await expect(Dataset.File.fromFiles([[store, "data/*.parquet"]]).files(sb.ws)).rejects.toThrow('dataset path "data/*.parquet" on datastore workspaceblobstore matches no files');
    await expect(Dataset.File.fromFiles([[store, "nope/*.csv"]]).files(sb.ws)).rejects.toThrow('dataset path "nope/*.csv" on datastore workspaceblobstore: its folder "nope" on datastore workspaceblobstore does not exist');

    // Registered: the version holds the two files that matched then, whatever matches later.
    const registered = await flat.register(sb.ws, { name: "pairs" });
    expect(Dataset.list(sb.ws, { name: "pairs" })[0]!.fileCount).toBe(2);

    const step = () =>
      new CommandStep({ name: "count", command: `ls "$PIPEBOOK_INPUT_PAIRS"; ${sb.counter("count")}`, inputs: [Dataset.File.fromFiles([[store, "data/*.csv"]]).asNamedInput("pairs")] });
    const submit = async () => {
      const run = await new Experiment(sb.ws, "globs").submit(new Pipeline(sb.ws, { steps: [step()] }));
      await run.waitForCompletion();
      return sb.ws.runs.getSteps(run.id)[0]!;
    };
    expect((await submit()).status).toBe("completed");
    expect((await submit()).status).toBe("reused");
    await settle();
    await sb.upload("data/d.csv", "x,y\n7,8\n");
    const after = await submit();
    expect(after.status).toBe("completed");
    expect(explainDecision(after.decision!)[1]).toMatch(/^ {2}- input pairs changed content \([0-9a-f]{12} → [0-9a-f]{12}\)$/);
    expect(await sb.count("count")).toBe(2);
    expect((await registered.files(sb.ws)).map((f) => f.rel)).toEqual(["a.csv", "b.csv"]);
  });
});
