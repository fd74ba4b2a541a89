/**
 * The seeds' flow on iris: prepare → (train, baseline) → compare, with a learning-rate parameter.
 *
 *   npx pipebook run examples/iris/pipeline.ts                       # first run: every step runs
 *   npx pipebook run examples/iris/pipeline.ts                       # again: every step is reused
 *   npx pipebook run examples/iris/pipeline.ts -p learning_rate=0.5  # train and compare rerun
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  DataReference, Environment, Pipeline, PipelineData, PipelineParameter, PythonScriptStep, RunConfiguration, Workspace,
} from "pipebook";

const here = dirname(fileURLToPath(import.meta.url));
export const experiment = "iris";

const ws = await Workspace.fromConfig();
const store = ws.getDefaultDatastore();
await store.uploadFiles([join(here, "data", "iris.csv")], { targetPath: "iris", overwrite: true });

const raw = new DataReference({ datastore: store, dataReferenceName: "raw", pathOnDatastore: "iris/iris.csv" });
const prepped = new PipelineData("prepped", { datastore: store });
const model = new PipelineData("model");
const baselineModel = new PipelineData("baseline_model");
const report = new PipelineData("report");
const learningRate = new PipelineParameter("learning_rate", 0.1);
const runconfig = new RunConfiguration({ environment: Environment.python() });

const prep = new PythonScriptStep({
  name: "prepare", scriptName: "prepare.py", sourceDirectory: join(here, "prep"),
  arguments: ["--input", raw, "--output", prepped], inputs: [raw], outputs: [prepped], runconfig,
});
const train = new PythonScriptStep({
  name: "train", scriptName: "train.py", sourceDirectory: join(here, "train"),
  arguments: ["--data", prepped, "--model", model, "--learning_rate", learningRate],
  inputs: [prepped], outputs: [model], runconfig,
});
const baseline = new PythonScriptStep({
  name: "baseline", scriptName: "baseline.py", sourceDirectory: join(here, "baseline"),
  arguments: ["--data", prepped, "--model", baselineModel], inputs: [prepped], outputs: [baselineModel], runconfig,
});
const compare = new PythonScriptStep({
  name: "compare", scriptName: "compare.py", sourceDirectory: join(here, "compare"),
  arguments: ["--models", model, baselineModel, "--report", report], outputs: [report], runconfig,
});

export const pipeline = new Pipeline(ws, { steps: [prep, [train, baseline], compare] });
