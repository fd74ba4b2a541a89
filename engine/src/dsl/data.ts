import { checkDataName } from "./dataName.js";
import { DatasetInput } from "./Dataset.js";
import type { AnyDatastore } from "./Datastore.js";
import { StepError } from "./StepFailure.js";
import { DatasetError } from "../datasets/DatasetFailure.js";
import { DatastoreError } from "./DatastoreFailure.js";

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

/** Where an OutputFileDatasetConfig goes when its step completes, and whether it becomes a dataset. */
export interface OutputDelivery {
  /** `[datastore, "path/{run-id}/{output-name}"]`; default the workspace's default datastore, "dataset/{run-id}/{output-name}". */
  readonly destination: readonly [AnyDatastore, string] | undefined;
  /** Replace what is at the destination (asUpload({overwrite: true})); default: an existing destination fails the step. */
  readonly overwrite: boolean;
  /** Registered as a dataset version when the step completes, with the run and step that made it. */
  readonly registration?: { readonly name: string; readonly description: string };
  /** Registered as a tabular dataset of delimited files (readDelimitedFiles) rather than as files. */
  readonly tabular?: { readonly separator: string; readonly header: boolean };
}

/**
 * The seeds' `OutputFileDatasetConfig`: a step output (usable wherever PipelineData is) that is
 * uploaded to a datastore path when its step completes — `{run-id}` and `{output-name}` in the
 * path are filled in — and, with registerOnComplete, registered as a dataset version that
 * records its lineage (run and step). Like PipelineData, it is never deleted automatically.
 */
export class OutputFileDatasetConfig extends PipelineData {
  private settings: OutputDelivery;

  constructor(options: { name: string; destination?: readonly [AnyDatastore, string] }) {
    super(options.name);
    const dest = options.destination;
    if (dest !== undefined && (typeof dest[1] !== "string" || dest[1].replace(/[/.]+/g, "").trim() === "")) {
      throw new StepError({ reason: "output-destination-invalid", output: options.name });
    }
    if (dest !== undefined && dest[1].split("/").includes("..")) throw new StepError({ reason: "output-destination-leaves", output: options.name, path: dest[1], datastore: dest[0].name });
    this.settings = { destination: dest, overwrite: false };
  }

  get delivery(): OutputDelivery {
    return this.settings;
  }

  /** Registers the output as dataset `name` (a new version each time its content differs) when the step completes. */
  registerOnComplete(name: string, options: { description?: string } = {}): this {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(name)) throw new DatasetError({ reason: "name-invalid", name });
    this.settings = { ...this.settings, registration: { name, description: options.description ?? "" } };
    return this;
  }

  /** Uploaded to the destination when the step completes; `overwrite` replaces what is there (default: refuse). */
  asUpload(options: { overwrite?: boolean } = {}): this {
    this.settings = { ...this.settings, overwrite: options.overwrite ?? false };
    return this;
  }

  /** Registered as a tabular dataset: the output's delimited files read as one table. */
  readDelimitedFiles(options: { separator?: string; header?: boolean } = {}): this {
    const separator = options.separator ?? ",";
    if (separator.length !== 1) throw new DatasetError({ reason: "separator-invalid", separator });
    this.settings = { ...this.settings, tabular: { separator, header: options.header ?? true } };
    return this;
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
    if (this.datastore.kind !== "local") throw new DatastoreError({ reason: "no-local-path", store: this.datastore.name, reference: this.name });
    return this.datastore.resolve(this.pathOnDatastore);
  }
}

export type StepData = PipelineData | DataReference | DatasetInput;

export function isStepData(x: unknown): x is StepData {
  return x instanceof PipelineData || x instanceof DataReference || x instanceof DatasetInput;
}
