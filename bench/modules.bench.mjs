// Modules, globs and data nodes (issue 14, items 4–5): what they cost. Publishing a module
// version of a 200-file folder (first time: hash and copy into blobs; again unchanged: the stat
// cache answers, no file read), a no-op rerun of a ModuleStep against the same step as a plain
// CommandStep, listing a dataset by a glob over 2,000 files against the same files as a folder,
// and building a run view with data nodes. Not part of the test suite; results also in
// bench/results-modules.json.
import { writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CommandStep, Dataset, Experiment, Module, ModuleStep, Pipeline, PipelineData, Workspace, buildRunView } from "../engine/dist/index.js";

const log = (...a) => console.error(...a);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = async (fn) => { const t = performance.now(); await fn(); return performance.now() - t; };
const round = (ms) => Math.round(ms * 10) / 10;
const results = {};
const root = await mkdtemp(join(tmpdir(), "pipebook-bench-modules-"));
const ws = await Workspace.fromConfig({ path: root });
try {
  const src = join(root, "src");
  await mkdir(src);
  for (let i = 0; i < 200; i++) await writeFile(join(src, `f${i}.txt`), `file ${i}\n`.repeat(100));
  await writeFile(join(src, "run.sh"), 'echo ok > "$2/f"\n');
  // mtimes a second old, so the stat cache may trust them (docs/engine.md).
  await new Promise((r) => setTimeout(r, 1100));
  const m = await Module.create(ws, { name: "bench" });
  results.publishFirstMs = round(await time(() => m.publishShellScript({ command: "sh run.sh", sourceDirectory: src, outputs: ["out"] })));
  const again = [];
  for (let i = 0; i < 5; i++) again.push(await time(() => m.publishShellScript({ command: "sh run.sh", sourceDirectory: src, outputs: ["out"] })));
  results.publishUnchangedMs = round(median(again));

  const rerun = async (make) => {
    const first = await new Experiment(ws, "bench").submit(new Pipeline(ws, { steps: [make()] }));
    await first.waitForCompletion();
    const xs = [];
    for (let i = 0; i < 5; i++) {
      xs.push(await time(async () => {
        const r = await new Experiment(ws, "bench").submit(new Pipeline(ws, { steps: [make()] }));
        const v = await r.waitForCompletion();
        if (v.steps[0].status !== "reused") throw new Error(`expected reuse, got ${v.steps[0].status}`);
      }));
    }
    return round(median(xs));
  };
  results.noopRerunModuleStepMs = await rerun(() => new ModuleStep({ name: "m", module: m, outputs: { out: new PipelineData("out") } }));
  results.noopRerunCommandStepMs = await rerun(() => {
    const out = new PipelineData("out");
    return new CommandStep({ name: "c", command: "sh run.sh --out", sourceDirectory: src, outputs: [out], arguments: [out] });
  });

  const store = ws.getDefaultDatastore();
  const data = store.resolve("many");
  await mkdir(data, { recursive: true });
  for (let i = 0; i < 2000; i++) await writeFile(join(data, `p${String(i).padStart(4, "0")}.csv`), "a,b\n1,2\n");
  await writeFile(join(data, "README.txt"), "not data\n");
  const list = async (path) => {
    const xs = [];
    for (let i = 0; i < 5; i++) xs.push(await time(() => Dataset.File.fromFiles([[store, path]]).files(ws)));
    return round(median(xs));
  };
  results.list2000ByGlobMs = await list("many/*.csv");
  results.list2001ByFolderMs = await list("many");

  const iris = await Dataset.Tabular.fromDelimitedFiles([[store, "many/p0000.csv"]]).register(ws, { name: "p0" });
  const run = await new Experiment(ws, "bench").submit(new Pipeline(ws, { steps: [new CommandStep({ name: "r", command: "true", inputs: [iris.asNamedInput("p0")] })] }));
  await run.waitForCompletion();
  const views = [];
  for (let i = 0; i < 20; i++) views.push(await time(() => buildRunView(ws, run.id)));
  results.buildRunViewWithDataNodeMs = round(median(views));
  log(results);
  writeFileSync(new URL("./results-modules.json", import.meta.url), `${JSON.stringify({ at: new Date().toISOString(), ...results }, null, 2)}\n`);
} finally {
  await ws.close();
  await rm(root, { recursive: true, force: true });
}
