import { checkDataName } from "./dataName.js";
import { DatasetInput } from "./Dataset.js";
import { Datastore } from "./Datastore.js";

/**
 * Intermediate data between steps: the step listing it in `outputs` produces it, steps
 * listing it in `inputs` (or arguments) consume it; that creates the execution order.
 * Produced data is kept after the run (not deleted automatically); `pipebook gc` removes
 * what no run references any more.
 */
export class PipelineData {
  readonly kind = "pipeline-data" as const;
  readonly datastore: Datastore | undefined;

  constructor(
    readonly name: string,
    options: { datastore?: Datastore } = {},
  ) {
    checkDataName("PipelineData", name);
    this.datastore = options.datastore;
  }
}

/** A file or folder already on a datastore, used directly as a step input. Its content hash is keyed. */
export class DataReference {
  readonly kind = "data-reference" as const;
  readonly datastore: Datastore;
  readonly name: string;
  readonly pathOnDatastore: string;

  constructor(options: { datastore: Datastore; dataReferenceName: string; pathOnDatastore: string }) {
    checkDataName("DataReference", options.dataReferenceName);
    this.datastore = options.datastore;
    this.name = options.dataReferenceName;
    this.pathOnDatastore = options.pathOnDatastore;
  }

  get path(): string {
    return this.datastore.resolve(this.pathOnDatastore);
  }
}

export type StepData = PipelineData | DataReference | DatasetInput;

export function isStepData(x: unknown): x is StepData {
  return x instanceof PipelineData || x instanceof DataReference || x instanceof DatasetInput;
}
