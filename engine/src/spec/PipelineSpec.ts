import type { ParameterValue, StepKind } from "../contract/runView.js";
import type { DatasetDefinition } from "../datasets/DatasetDefinition.js";
import type { EnvironmentSpec } from "../dsl/Environment.js";

export type ArgumentSpec =
  | { readonly kind: "text"; readonly value: string }
  | { readonly kind: "data"; readonly name: string }
  | { readonly kind: "param"; readonly name: string };

export type DataSpec =
  | { readonly kind: "pipeline-data"; readonly name: string }
  | { readonly kind: "data-reference"; readonly name: string; readonly datastore: string; readonly path: string }
  | {
      readonly kind: "dataset";
      readonly name: string;
      readonly mode: "mount" | "download";
      readonly definition: DatasetDefinition;
      /** The registered version it reads (pinned: a rerun reads the same snapshot). */
      readonly basedOn?: { readonly name: string; readonly version: number };
    };

export interface StepSpec {
  readonly name: string;
  readonly kind: StepKind;
  readonly scriptName?: string;
  readonly command?: string | readonly string[];
  /** Snapshot of the source folder taken at submit: the code the step runs, forever. */
  readonly manifest?: string;
  readonly source: Readonly<Record<string, string>>;
  readonly hashPaths: Readonly<Record<string, string>>;
  readonly arguments: readonly ArgumentSpec[];
  readonly inputs: readonly DataSpec[];
  readonly outputs: readonly string[];
  readonly parameters: readonly string[];
  readonly computeTarget: string;
  readonly environment: EnvironmentSpec;
  readonly gpus: number;
  readonly cpus?: number;
  readonly memoryMb?: number;
  readonly allowReuse: boolean;
  readonly timeoutSeconds?: number;
  /** Runs again when what ran it was lost (absent: 0). */
  readonly maxRetries?: number;
  readonly excludeFromKey: readonly string[];
  /** A ModuleStep: the module version it runs (its code is `manifest`; arguments hold the ports' flags). */
  readonly module?: { readonly name: string; readonly version: string; readonly digest: string };
  /** OutputFileDatasetConfig outputs by name: where each is uploaded and what it is registered as. */
  readonly deliveries?: Readonly<Record<string, OutputDeliverySpec>>;
}

export interface OutputDeliverySpec {
  readonly destination?: { readonly datastore: string; readonly path: string };
  readonly overwrite: boolean;
  readonly registration?: { readonly name: string; readonly description: string };
  readonly tabular?: { readonly separator: string; readonly header: boolean };
}

/**
 * A submitted pipeline as data: steps with their snapshots, arguments, data and parameters.
 * Stored with every run, it is what publishing keeps and what the REST server runs again
 * without the user's TypeScript: a run can always be reproduced from its record.
 */
export interface PipelineSpec {
  readonly version: 1;
  readonly description: string;
  readonly parameters: readonly { readonly name: string; readonly defaultValue: ParameterValue }[];
  readonly steps: readonly StepSpec[];
}
