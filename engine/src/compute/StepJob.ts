import type { StepKind } from "../contract/runView.js";
import type { Digest } from "../fingerprint/digest.js";

/**
 * One element of a step's command line as the engine hands it over: text, or a placeholder that
 * the target replaces with its own path for an input or output (a container sees
 * /pipebook/inputs/raw where the engine has .pipebook/data/…/raw).
 */
export type JobArg =
  | { readonly kind: "text"; readonly value: string }
  | { readonly kind: "input"; readonly name: string }
  | { readonly kind: "output"; readonly name: string };

/**
 * How a step sees one input. `file` and `folder`: data produced upstream or a datastore path,
 * read in place; `mount`: a registered dataset shared read-only; `download`: the step's own
 * writable copy of a dataset.
 */
export type InputLayout = "file" | "folder" | "mount" | "download";

export interface JobInput {
  readonly name: string;
  /** Content digest (hashTree) of the file or folder: what the key names and a remote side verifies. */
  readonly digest: string;
  readonly layout: InputLayout;
  /**
   * Where the content lies on the engine's machine. A target on this machine reads it in place
   * (read-only binds); a remote one moves it by digest and never assumes this path exists there.
   */
  readonly source: string;
}

/** What the process is; the interpreter comes from the resolved environment. */
export type JobProgram =
  | { readonly kind: "python"; readonly script: string }
  | { readonly kind: "node"; readonly script: string }
  /** A shell command line, run by /bin/sh -c with the arguments quoted after it. */
  | { readonly kind: "shell"; readonly command: string }
  /** An argv, the arguments appended. */
  | { readonly kind: "exec"; readonly argv: readonly string[] };

/** What a step asks of its compute: a target gives exactly this or refuses the step at submit. */
export interface Resources {
  /** Whole GPUs held by this step alone while it runs. */
  readonly gpus: number;
  /** CPU cores reserved (a container is limited to them). */
  readonly cpus?: number;
  /** Memory reserved in MiB (a container is limited to it). */
  readonly memoryMb?: number;
  readonly timeoutSeconds?: number;
}

/**
 * A compute target's view of how to start a step's program: resolved at submit by the target
 * (see Compute.prepare), stored with the step and keyed. `key` is what enters the reuse key's
 * environment component; `runtime` is how to start it and is never keyed (paths differ per machine).
 */
export interface ResolvedEnvironment {
  readonly key: Readonly<Record<string, unknown>>;
  readonly runtime: {
    /** Interpreter to start python/node programs with (a path, or a command the image has). */
    readonly interpreter?: string;
    /** Docker image id (sha256:…) to run in. */
    readonly imageId?: string;
    /** Variables the environment itself sets (a venv's VIRTUAL_ENV, PATH). */
    readonly env?: Readonly<Record<string, string>>;
  };
}

/**
 * A self-contained step job: everything a compute target needs, by name and digest, with no
 * assumption that it shares the engine's file system. Built by the step lifecycle after the
 * reuse decision missed.
 */
export interface StepJob {
  readonly runId: string;
  readonly stepRunId: string;
  readonly stepName: string;
  readonly experiment: string;
  readonly kind: StepKind;
  readonly program: JobProgram;
  readonly args: readonly JobArg[];
  /** Manifest blob of the source snapshot (relative path → file digest), if the step has a source folder. */
  readonly snapshot: Digest | undefined;
  readonly inputs: readonly JobInput[];
  readonly outputs: readonly string[];
  /**
   * The step's own variables: the user's env vars, PIPEBOOK_PARAM_*, run and step ids. No paths
   * (the target adds PIPEBOOK_INPUT_*, PIPEBOOK_OUTPUT_*, PIPEBOOK_METRICS_FILE for its own
   * layout) and nothing of the engine's own environment (a container must not see it).
   */
  readonly env: Readonly<Record<string, string>>;
  readonly resources: Resources;
  readonly environment: ResolvedEnvironment;
}
