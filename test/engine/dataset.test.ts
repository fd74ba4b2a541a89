import { execFile } from "node:child_process";
import { readFile, stat, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommandStep, Dataset, Datastore, Experiment, Pipeline, PipelineData, PipelineRun, PublishedPipeline, type PipelineStep, type RunView } from "pipebook";
import { CLI, sandbox, type Sandbox } from "./helpers.js";

let sb: Sandbox;
beforeEach(async () => (sb = await sandbox()));
afterEach(async () => sb.close());

const CSV = "sepal,petal,species\n5.1,1.4,setosa\n4.9,,setosa\n6.3,4.9,virginica\n5.8,5.1,virginica\n7.0,4.7,versicolor\n";

const submit = async (steps: PipelineStep[]): Promise<RunView> => {
  const run = await new Experiment(sb.ws, "ds").submit(new Pipeline(sb.ws, { steps }));
  return run.waitForCompletion();
};
const stepOf = (view: RunView, name: string) => view.steps.find((s) => s.name === name)!;

describe("datasets", () => {
  it("reads a tabular dataset lazily: slices, filters, columns, and a profile", async () => {
    await sb.upload("iris/iris.csv", CSV);
    const iris = Dataset.Tabular.fromDelimitedFiles([[sb.ws.getDefaultDatastore(), "iris/iris.csv"]]);
    expect(await iris.skip(1).take(2).toRecords()).toEqual([
      { sepal: "4.9", petal: "", species: "setosa" },
      { sepal: "6.3", petal: "4.9", species: "virginica" },
    ]);
    expect((await iris.filter("sepal", ">=", 6).keepColumns(["species"]).toRecords()).map((r) => r["species"])).toEqual(["virginica", "versicolor"]);
    expect(Object.keys((await iris.dropColumns(["petal"]).toRecords({ limit: 1 }))[0]!)).toEqual(["sepal", "species"]);

    const profile = await iris.profile();
    expect(profile.rowCount).toBe(5);
    const petal = profile.columns.find((c) => c.name === "petal")!;
    expect(petal).toMatchObject({ type: "number", count: 4, missing: 1, min: 1.4, max: 5.1 });
    expect(profile.columns.find((c) => c.name === "species")).toMatchObject({ type: "string", distinct: 3, mostCommon: "setosa", mostCommonCount: 2 });
    expect(profile.toString()).toMatch(/^5 rows, 3 columns\ncolumn +type/);

    await expect(iris.filter("height", ">", 1).toRecords()).rejects.toThrow(/filter names column "height", which the dataset does not have \(it has "sepal", "petal", "species"\)/);
    expect(() => iris.take(-1)).toThrow(/take\(-1\): the count must be a whole number/);
    await expect(Dataset.Tabular.fromDelimitedFiles([[sb.ws.getDefaultDatastore(), "iris/nope.csv"]]).toRecords()).rejects.toThrow(/dataset path "iris\/nope.csv" on datastore workspaceblobstore does not exist/);

    // Declarations run nothing themselves: a dataset reads through its workspace's services, which a
    // datastore made by hand (outside a workspace) does not carry: one sentence, unless { workspace } is given.
    const loose = Dataset.Tabular.fromDelimitedFiles([[new Datastore("loose", (sb.ws.getDefaultDatastore() as Datastore).root), "iris/iris.csv"]]);
    await expect(loose.toRecords()).rejects.toMatchObject({
      name: "DatasetError", failure: { reason: "workspace-needed", datastores: ["loose"] },
      message: "a dataset on datastore loose is read through a workspace: pass { workspace } or use a datastore the workspace gives (Datastore.get)",
    });
    await expect(loose.profile()).rejects.toMatchObject({ failure: { reason: "workspace-needed" } });
    expect((await loose.take(1).toRecords({ workspace: sb.ws }))[0]).toEqual({ sepal: "5.1", petal: "1.4", species: "setosa" });
  });

  it("registers immutable versions: same content returns the version, changed content needs createNewVersion", async () => {
    await sb.upload("iris/iris.csv", CSV);
    const store = sb.ws.getDefaultDatastore();
    const v1 = await Dataset.Tabular.fromDelimitedFiles([[store, "iris/iris.csv"]]).register(sb.ws, { name: "iris", description: "the flowers" });
    expect(v1.basedOn).toEqual({ name: "iris", version: 1 });
    expect((await Dataset.Tabular.fromDelimitedFiles([[store, "iris/iris.csv"]]).register(sb.ws, { name: "iris" })).basedOn?.version).toBe(1);

    await sb.upload("iris/iris.csv", CSV + "6.0,4.5,versicolor\n");
    await expect(Dataset.Tabular.fromDelimitedFiles([[store, "iris/iris.csv"]]).register(sb.ws, { name: "iris" })).rejects.toThrow(
      /dataset "iris" is already registered \(version 1\) with different content; pass createNewVersion: true to add version 2/,
    );
    await Dataset.Tabular.fromDelimitedFiles([[store, "iris/iris.csv"]]).register(sb.ws, { name: "iris", createNewVersion: true });

    // Version 1 still reads the rows it was registered with, whatever the datastore holds now.
    const first = Dataset.getByName(sb.ws, "iris", { version: 1 });
    expect((await (first as ReturnType<typeof Dataset.Tabular.fromDelimitedFiles>).toRecords()).length).toBe(5);
    expect(Dataset.getByName(sb.ws, "iris").basedOn?.version).toBe(2);
    expect(Dataset.list(sb.ws).map((v) => [v.name, v.version, v.fileCount])).toEqual([["iris", 2, 1]]);
    expect(Dataset.list(sb.ws, { name: "iris" }).map((v) => v.version)).toEqual([2, 1]);
    expect(() => Dataset.getByName(sb.ws, "iris", { version: 7 })).toThrow('dataset "iris" has no version 7 (the latest is 2)');
    expect(() => Dataset.getByName(sb.ws, "roses")).toThrow('no dataset named "roses" is registered in this workspace');
  });

  it("feeds steps by name, keys them on content, and explains a changed dataset", async () => {
    await sb.upload("iris/iris.csv", CSV);
    const store = sb.ws.getDefaultDatastore();
    const out = new PipelineData("out");
    const makeStep = (ds: ReturnType<typeof Dataset.Tabular.fromDelimitedFiles>) =>
      new CommandStep({
        name: "count",
        command: `${sb.counter("count")}; wc -l < "$PIPEBOOK_INPUT_RAW" > "$PIPEBOOK_OUTPUT_OUT/n"; echo "$PIPEBOOK_INPUT_DATASETS" > "$PIPEBOOK_OUTPUT_OUT/datasets.json"`,
        inputs: [ds.asNamedInput("raw")],
        outputs: [out],
      });
    const iris = Dataset.Tabular.fromDelimitedFiles([[store, "iris/iris.csv"]]);
    const first = await submit([makeStep(iris.filter("species", "==", "setosa"))]);
    expect(stepOf(first, "count").status).toBe("completed");
    const outDir = (await sb.ws.runs.getOutputs(`${first.runId}.count`))[0]!.path;
    expect((await readFile(join(outDir, "n"), "utf8")).trim()).toBe("3"); // header and two setosa rows
    const datasets = JSON.parse(await readFile(join(outDir, "datasets.json"), "utf8")) as Record<string, string>;
    expect(Object.keys(datasets)).toEqual(["raw"]);
    expect(await readFile(datasets["raw"]!, "utf8")).toBe("sepal,petal,species\n5.1,1.4,setosa\n4.9,,setosa\n");

    // Same content, same slice: reused, even though the dataset object is new.
    const again = await submit([makeStep(Dataset.Tabular.fromDelimitedFiles([[store, "iris/iris.csv"]]).filter("species", "==", "setosa"))]);
    expect(stepOf(again, "count").status).toBe("reused");
    // A different slice is different data.
    const sliced = await submit([makeStep(iris.filter("species", "==", "virginica"))]);
    expect(stepOf(sliced, "count").why).toMatch(/^input raw changed content/);
    // Changed rows in the datastore file change the content as well.
    await writeFile(store.resolve("iris/iris.csv"), CSV.replace("5.1,1.4,setosa", "5.2,1.4,setosa"));
    const changed = await submit([makeStep(Dataset.Tabular.fromDelimitedFiles([[store, "iris/iris.csv"]]).filter("species", "==", "setosa"))]);
    expect(stepOf(changed, "count").why).toMatch(/^input raw changed content/);
    expect(await sb.count("count")).toBe(3);

    // Layouts are caches: gc removes them, and a later run still reuses the result (a reused step needs no layout).
    const { collectGarbage } = await import("../../engine/dist/artifacts/collectGarbage.js");
    const removed = await collectGarbage(sb.ws, { dryRun: false });
    expect(removed.filter((i) => i.why.startsWith("dataset layout")).length).toBe(3);
    const afterGc = await submit([makeStep(Dataset.Tabular.fromDelimitedFiles([[store, "iris/iris.csv"]]).filter("species", "==", "setosa"))]);
    expect(stepOf(afterGc, "count").status).toBe("reused");
  });

  it("gives a downloaded file dataset to the step as its own copy, and reruns a published pipeline on the pinned version", async () => {
    const store = sb.ws.getDefaultDatastore();
    await sb.upload("docs/a.txt", "alpha\n");
    await sb.upload("docs/b.txt", "beta\n");
    const docs = await Dataset.File.fromFiles([[store, "docs"]]).register(sb.ws, { name: "docs" });
    const out = new PipelineData("out");
    const step = new CommandStep({
      name: "cat",
      command: `cat "$PIPEBOOK_INPUT_DOCS"/a.txt "$PIPEBOOK_INPUT_DOCS"/b.txt > "$PIPEBOOK_OUTPUT_OUT/all.txt"; echo scribble > "$PIPEBOOK_INPUT_DOCS/a.txt"; echo "$PIPEBOOK_INPUT_DOCS" > "$PIPEBOOK_OUTPUT_OUT/where"`,
      inputs: [docs.asNamedInput("docs").asDownload()],
      outputs: [out],
    });
    const run = await new Experiment(sb.ws, "ds").submit(new Pipeline(sb.ws, { steps: [step] }));
    const view = await run.waitForCompletion();
    expect(stepOf(view, "cat").status).toBe("completed");
    const outDir = (await sb.ws.runs.getOutputs(`${view.runId}.cat`))[0]!.path;
    expect(await readFile(join(outDir, "all.txt"), "utf8")).toBe("alpha\nbeta\n");
    expect((await readFile(join(outDir, "where"), "utf8")).trim()).toMatch(/\/work\/datasets\/docs$/);
    // The step wrote into its copy; the registered version is untouched.
    const files = await Dataset.getByName(sb.ws, "docs").files();
    expect(await readFile(files.find((f) => f.rel === "docs/a.txt")!.abs, "utf8")).toBe("alpha\n");

    // Published and rerun from its spec after the datastore changed: version 1 is what it reads.
    const published = await run.publishPipeline({ name: "docs", version: "1" });
    await sb.upload("docs/a.txt", "changed\n");
    const rerun = await PipelineRun.submitSpec(sb.ws, "ds", (await PublishedPipeline.get(sb.ws, published.id)).spec, { regenerateOutputs: true });
    const rerunView = await rerun.waitForCompletion();
    const rerunDir = (await sb.ws.runs.getOutputs(`${rerunView.runId}.cat`))[0]!.path;
    expect(await readFile(join(rerunDir, "all.txt"), "utf8")).toBe("alpha\nbeta\n");
  });

  it("gives a mounted dataset to steps read-only: a step's writes fail and the next step reads it intact", async () => {
    await sb.upload("shared/a.txt", "alpha\n");
    const ds = Dataset.File.fromFiles([[sb.ws.getDefaultDatastore(), "shared"]]);
    const tried = new PipelineData("tried");
    const seen = new PipelineData("seen");
    // Each write that succeeds is named in the result; the step itself succeeds either way.
    const writer = new CommandStep({
      name: "writer",
      command: [
        'd="$PIPEBOOK_INPUT_SHARED"; r=""',
        '(echo scribble > "$d/a.txt") 2>/dev/null && r="$r overwrote"',
        'rm -f "$d/a.txt" 2>/dev/null; [ -f "$d/a.txt" ] || r="$r removed"',
        '(echo new > "$d/new.txt") 2>/dev/null && r="$r created"',
        'echo "wrote:$r" > "$PIPEBOOK_OUTPUT_TRIED/result"; echo "$d" > "$PIPEBOOK_OUTPUT_TRIED/where"',
      ].join("; "),
      inputs: [ds.asNamedInput("shared")],
      outputs: [tried],
    });
    const reader = new CommandStep({
      name: "reader",
      command: 'cat "$PIPEBOOK_INPUT_SHARED/a.txt" > "$PIPEBOOK_OUTPUT_SEEN/a.txt"; ls "$PIPEBOOK_INPUT_SHARED" > "$PIPEBOOK_OUTPUT_SEEN/files"',
      inputs: [tried, ds.asNamedInput("shared")],
      outputs: [seen],
    });
    const view = await (await new Experiment(sb.ws, "ro").submit(new Pipeline(sb.ws, { steps: [writer, reader] }))).waitForCompletion();
    expect(view.steps.map((s) => s.status)).toEqual(["completed", "completed"]);
    const triedDir = (await sb.ws.runs.getOutputs(`${view.runId}.writer`))[0]!.path;
    const seenDir = (await sb.ws.runs.getOutputs(`${view.runId}.reader`))[0]!.path;
    expect((await readFile(join(triedDir, "result"), "utf8")).trim()).toBe("wrote:");
    expect(await readFile(join(seenDir, "a.txt"), "utf8")).toBe("alpha\n");
    expect((await readFile(join(seenDir, "files"), "utf8")).trim()).toBe("a.txt");
    // The shared layout carries no write permission (what holds a step that is not root).
    const layout = (await readFile(join(triedDir, "where"), "utf8")).trim();
    for (const path of [layout, join(layout, "a.txt")]) expect((await stat(path)).mode & 0o222).toBe(0);
    // Layouts are caches all the same: gc removes a sealed one.
    const { collectGarbage } = await import("../../engine/dist/artifacts/collectGarbage.js");
    await collectGarbage(sb.ws, { dryRun: false });
    await expect(stat(layout)).rejects.toThrow(/ENOENT/);
  });

  it("refuses a missing dataset path or an unknown column at submit, naming the step, the input and the thing", async () => {
    const ds = Dataset.File.fromFiles([[sb.ws.getDefaultDatastore(), "nowhere/x.bin"]]);
    const step = new CommandStep({ name: "use", command: "true", inputs: [ds.asNamedInput("x")] });
    await expect(new Experiment(sb.ws, "ds").submit(new Pipeline(sb.ws, { steps: [step] }))).rejects.toThrow(
      'step "use": dataset input "x": dataset path "nowhere/x.bin" on datastore workspaceblobstore does not exist',
    );
    await sb.upload("iris/iris.csv", CSV);
    const sliced = Dataset.Tabular.fromDelimitedFiles([[sb.ws.getDefaultDatastore(), "iris/iris.csv"]]).dropColumns(["colour"]);
    const reads = new CommandStep({ name: "read", command: "true", inputs: [sliced.asNamedInput("t")] });
    await expect(new Experiment(sb.ws, "ds").submit(new Pipeline(sb.ws, { steps: [reads] }))).rejects.toThrow(
      'step "read": dataset input "t": drop-columns names column "colour", which the dataset does not have (it has "sepal", "petal", "species")',
    );
    expect(sb.ws.runs.listRuns({ experiment: "ds" })).toEqual([]);
  });

  it("lists datasets and versions and prints a profile from the CLI; asking for what is not there exits 2", async () => {
    await sb.upload("iris/iris.csv", CSV);
    await Dataset.Tabular.fromDelimitedFiles([[sb.ws.getDefaultDatastore(), "iris/iris.csv"]]).register(sb.ws, { name: "iris", description: "flowers" });
    const cli = (...args: string[]) => promisify(execFile)(process.execPath, [CLI, ...args], { cwd: sb.dir });
    expect((await cli("datasets")).stdout).toMatch(/^dataset +version +kind +files +size +registered +description\n[- ]+\niris +1 +tabular +1 +\d+ B +\S+ \S+ +flowers\n$/);
    const profile = (await cli("datasets", "iris", "--profile")).stdout;
    expect(profile).toContain("5 rows, 3 columns");
    expect(profile).toMatch(/\npetal +number +4 +1 +4 +1\.4 +5\.1 +/);
    await expect(cli("datasets", "iris", "--version", "3", "--profile")).rejects.toMatchObject({ code: 2, stderr: 'pipebook: dataset "iris" has no version 3 (the latest is 1)\n' });
  });
});
