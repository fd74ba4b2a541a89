import { DataReference } from "./data.js";
import { Environment } from "./Environment.js";
import { PipelineStep } from "./steps.js";
import { StepError } from "./StepFailure.js";

export interface DataTransferStepOptions {
  readonly name: string;
  /** What to copy: a file or folder on a datastore (local or Azure Blob). */
  readonly sourceDataReference: DataReference;
  /** Where it lands, exactly: a file becomes this path, a folder this folder (replacing what is there). */
  readonly destinationDataReference: DataReference;
  /** Reuse an earlier identical transfer (default true): same source content, same destination, and the destination still holds it. */
  readonly allowReuse?: boolean;
}

const OWN = ["name", "sourceDataReference", "destinationDataReference", "allowReuse"];

/**
 * The seeds' `DataTransferStep`: copies a file or folder between datastores (local ↔ blob,
 * blob ↔ blob, local ↔ local). The engine makes the copy itself (no process, no compute target).
 * Its key is the source's content and the destination's place; it is reused like any step
 * while the destination still holds what the source has.
 */
export class DataTransferStep extends PipelineStep {
  readonly kind = "data-transfer" as const;
  readonly source: DataReference;
  readonly destination: DataReference;

  constructor(options: DataTransferStepOptions) {
    const unknown = Object.keys(options).filter((k) => !OWN.includes(k));
    if (unknown.length > 0) throw new StepError({ reason: "options-unknown", step: String(options.name), unknown, stepKind: "DataTransferStep", takes: OWN });
    if (!(options.sourceDataReference instanceof DataReference) || !(options.destinationDataReference instanceof DataReference)) {
      throw new StepError({ reason: "transfer-references-invalid", step: String(options.name) });
    }
    const to = options.destinationDataReference;
    super(
      {
        name: options.name,
        inputs: [options.sourceDataReference],
        // The destination's place is part of the key (as text); the source's content is its input.
        arguments: ["--to", `${to.datastore.name}:${to.pathOnDatastore.replace(/^\/+|\/+$/g, "")}`],
        ...(options.allowReuse !== undefined && { allowReuse: options.allowReuse }),
      },
      undefined,
      [],
    );
    if (to.pathOnDatastore.replace(/[/.]+/g, "") === "") throw new StepError({ reason: "transfer-to-root", step: options.name, datastore: to.datastore.name });
    this.source = options.sourceDataReference;
    this.destination = to;
  }

  get environment(): Environment {
    return Environment.system();
  }
}
