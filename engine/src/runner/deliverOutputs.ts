import { rm } from "node:fs/promises";
import { OutputFileDatasetConfig } from "../dsl/data.js";
import { Dataset, TabularDataset } from "../dsl/Dataset.js";
import type { AnyDatastore } from "../dsl/Datastore.js";
import type { PipelineStep } from "../dsl/steps.js";
import { ArtifactError } from "../artifacts/ArtifactFailure.js";
import { PipebookError } from "../errors/PipebookError.js";
import type { RunContext } from "./runStep.js";

export const DEFAULT_OUTPUT_DESTINATION = "dataset/{run-id}/{output-name}";

/**
 * What a completed step's OutputFileDatasetConfig outputs ask for: each is uploaded to its
 * destination (`{run-id}`, `{output-name}` filled in) and, with registerOnComplete, registered
 * as a dataset version recording this run and step. A tabular registration reads every row
 * first, so a malformed file fails the step before anything is registered; on any failure the
 * upload this step made is removed again. Throws a sentence naming the step and the output.
 */
export async function deliverOutputs(ctx: RunContext, step: PipelineStep, stepRunId: string, produced: readonly { name: string; path: string }[]): Promise<void> {
  for (const o of step.outputs) {
    if (!(o instanceof OutputFileDatasetConfig)) continue;
    const local = produced.find((p) => p.name === o.name)?.path;
    if (local === undefined) continue;
    const d = o.delivery;
    const [store, template] = d.destination ?? [ctx.ws.getDefaultDatastore(), DEFAULT_OUTPUT_DESTINATION];
    const path = template.replaceAll("{run-id}", ctx.runId).replaceAll("{output-name}", o.name).replace(/^\/+|\/+$/g, "");
    const fail = (err: unknown): ArtifactError =>
      new ArtifactError({
        reason: "output-undelivered", step: step.name, output: o.name,
        code: err instanceof PipebookError ? err.code : "datastore-error",
        problem: err instanceof Error ? err.message : String(err),
        ...(err instanceof PipebookError && err.failure !== undefined && { failure: err.failure }),
      }, { cause: err });
    await store.uploadDirectory(local, { targetPath: path, overwrite: d.overwrite }).catch((err: unknown) => {
      throw fail(err);
    });
    try {
      if (!d.registration) continue;
      const ds = d.tabular ? Dataset.Tabular.fromDelimitedFiles([[store, path]], d.tabular) : Dataset.File.fromFiles([[store, path]]);
      if (ds instanceof TabularDataset) await ds.profile({ workspace: ctx.ws });
      await ds.register(ctx.ws, {
        name: d.registration.name, description: d.registration.description, createNewVersion: true,
        lineage: { runId: ctx.runId, experiment: ctx.experiment, stepName: step.name, stepRunId, output: o.name, destination: { datastore: store.name, path } },
      });
    } catch (err) {
      if (!d.overwrite) await removePath(store, path).catch(() => undefined);
      throw fail(err);
    }
  }
}

async function removePath(store: AnyDatastore, path: string): Promise<void> {
  if (store.kind === "local") await rm(store.resolve(path), { recursive: true, force: true });
  else await store.removeBlobs((await store.list(path)).map((e) => e.blobName));
}
