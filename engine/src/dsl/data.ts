import { Datastore } from "./Datastore.js";

const DATA_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function checkName(kind: string, name: string): void {
  if (!DATA_NAME.test(name)) {
    throw new TypeError(`${kind} name "${name}" must start with a letter or _ and hold only letters, digits, _ . -`);
  }
}

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
    checkName("PipelineData", name);
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
    checkName("DataReference", options.dataReferenceName);
    this.datastore = options.datastore;
    this.name = options.dataReferenceName;
    this.pathOnDatastore = options.pathOnDatastore;
  }

  get path(): string {
    return this.datastore.resolve(this.pathOnDatastore);
  }
}

export type StepData = PipelineData | DataReference;

export function isStepData(x: unknown): x is StepData {
  return x instanceof PipelineData || x instanceof DataReference;
}
