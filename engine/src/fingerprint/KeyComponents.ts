import type { ParameterValue, StepKind } from "../contract/runView.js";
import { digestOfJson, type Digest } from "./digest.js";

/** Bumped when the meaning of a component changes, so old keys stop matching new ones. */
export const KEY_SCHEMA = 1;

/**
 * Everything a step's result depends on. Each component is stored with the step run, not only
 * the digest, so `pipebook why` can say which part changed (peers that store only a digest
 * cannot, see MicrosoftDocs/azure-docs#76159). Nothing run-unique (run ids, timestamps,
 * absolute temporary paths) may enter: Elyra's run id in env killed all its caching (elyra#2717).
 */
export interface KeyComponents {
  /** Layout version of this object. */
  readonly schema: number;
  /** Step kind: the same script run by Python or by Node is a different program. */
  readonly kind: StepKind;
  /**
   * The program: the script's path inside the snapshot (its content is in `source`), or the
   * command line for command steps. Renaming the script changes what runs.
   */
  readonly program: string;
  /**
   * Snapshot of the source folder, relative path → content digest, minus ignored files. Any
   * edited, added or removed file reruns the step without a manual version bump (flyte#2899).
   */
  readonly source: Readonly<Record<string, string>>;
  /**
   * Arguments with data written as `{input:NAME}` / `{output:NAME}` and parameters as
   * `{param:NAME}`: paths differ per run, their content is keyed in `inputs`, parameter values in `parameters`
   * (Azure ML v1 before 1.1.0 did not hash arguments, MachineLearningNotebooks#771).
   */
  readonly arguments: readonly string[];
  /** Values of the parameters the step reads; a changed value reruns it. */
  readonly parameters: Readonly<Record<string, ParameterValue>>;
  /**
   * Content digest of every input, datastore files and upstream outputs alike: changed data
   * under an unchanged name reruns the step (kubeflow#4947, MachineLearningNotebooks#298).
   */
  readonly inputs: Readonly<Record<string, string>>;
  /** Output names: what downstream steps find depends on them. */
  readonly outputs: readonly string[];
  /**
   * Interpreter (and its version), image, packages and the env vars the user set on the step:
   * another Python or another package list can change results. The inherited shell environment
   * is not keyed (it holds run-unique noise such as terminal ids).
   */
  readonly environment: Readonly<Record<string, unknown>>;
  /** Settings of the compute kind that can change results (its kind, GPU count), not its name. */
  readonly compute: Readonly<Record<string, unknown>>;
  /** Extra files named in hashPaths, relative path → content digest (azure-sdk-for-python#40165). */
  readonly hashPaths: Readonly<Record<string, string>>;
  /**
   * A ModuleStep's module version and its content digest (absent for other steps, so their
   * keys are unchanged): `why` names the version a rerun moved from and to, not only its files.
   */
  readonly module?: { readonly name: string; readonly version: string; readonly digest: string };
}

export function keyDigest(components: KeyComponents): Digest {
  return digestOfJson(components);
}
