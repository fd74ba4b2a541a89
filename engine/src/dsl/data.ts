import { checkDataName } from "./dataName.js";
import { DatasetInput } from "./Dataset.js";
import type { AnyDatastore } from "./Datastore.js";

/**
 * Intermediate data between steps: the step listing it in `outputs` produces it, steps
 * listing it in `inputs` (or arguments) consume it; that creates the execution order.
 * Produced data is kept after the run (not deleted automatically); `pipebook gc` removes
 * what no run references any more.
 */
export class PipelineData {
  readonly kind = "pipeline-data" as const;
  readonly datastore: AnyDatastore | undefined;

  constructor(
    readonly name: string,
    options: { datastore?: AnyDatastore } = {},
  ) {
    checkDataName("PipelineData", name);
    this.datastore = options.datastore;
  }
}

/** A file or folder already on a datastore, used directly as a step input. Its content hash is keyed. */
export class DataReference {
  readonly kind = "data-reference" as const;
  readonly datastore: AnyDatastore;
  readonly name: string;
  readonly pathOnDatastore: string;

  constructor(options: { datastore: AnyDatastore; dataReferenceName: string; pathOnDatastore: string }) {
    checkDataName("DataReference", options.dataReferenceName);
    this.datastore = options.datastore;
    this.name = options.dataReferenceName;
    this.pathOnDatastore = options.pathOnDatastore;
  }

  /** The file or folder on this machine (a local datastore's); a blob datastore's is copied for the step that reads it. */
  get path(): string {
    if (this.datastore.kind !== "local") throw new Error(`bug: DataReference ${this.name} is on blob datastore ${this.datastore.name}, which has no local path`);
    return this.datastore.resolve(this.pathOnDatastore);
  }
}

export type StepData = PipelineData | DataReference | DatasetInput;

export function isStepData(x: unknown): x is StepData {
  return x instanceof PipelineData || x instanceof DataReference || x instanceof DatasetInput;
}
