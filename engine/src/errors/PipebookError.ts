import { EXPECTED_FAILURE, type FailureCode } from "../contract/expectedFailure.js";

/**
 * Expected failures that reach a user (bad graph, unknown parameter, missing script...).
 * `code` is stable so that callers (CLI, REST mapper, notebook renderer) can switch on it;
 * the message already names the thing that is wrong.
 *
 * The failure model (issue 9): each subsystem states its expected failures as a tagged union of
 * data (`{ reason: "...", ...fields }`, see `Failure`) with ONE describer that words every case,
 * and throws a subclass of `PipebookError` carrying that data (`failure`). The code is derived
 * from the reason, never from the sentence, so surfaces switch on data.
 */
export type PipebookErrorCode = FailureCode;

/** The shape every subsystem's failure union shares: a reason tag, then the facts. */
export interface Failure {
  readonly reason: string;
}

/**
 * Every expected failure: its `code`, its data (`failure`) and the sentence its subsystem's
 * describer made. Abstract, and built only with a failure: a bare code and sentence cannot be
 * thrown; a subsystem throws its `FailureError` subclass.
 */
export abstract class PipebookError extends Error {
  /** A subsystem's error is named after its class (`SubmitError`, `StepError`...): the notebook shows it as the error's name. */
  override readonly name: string = "PipebookError";
  readonly [EXPECTED_FAILURE] = true;
  protected constructor(
    readonly code: PipebookErrorCode,
    /** The failure as data: surfaces switch on its `reason`. */
    readonly failure: Failure,
    message: string,
    readonly details: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(details.length > 0 ? `${message}\n${details.map((d) => `  - ${d}`).join("\n")}` : message, options);
  }
}

/**
 * A subsystem's expected failure as an error: the data (`failure`), the code its reason maps to,
 * and the sentence its one describer makes. Subsystems subclass it (`DatasetError`, ...), so
 * `instanceof PipebookError` and `code` keep working for every surface.
 */
export abstract class FailureError<F extends Failure> extends PipebookError {
  declare readonly failure: F;
  constructor(code: PipebookErrorCode, failure: F, sentence: string, details: readonly string[] = [], options?: { cause?: unknown }) {
    super(code, failure, sentence, details, options);
    Object.defineProperty(this, "name", { value: new.target.name, enumerable: true, writable: false, configurable: true });
  }
}

/** The one exhaustiveness guard of the engine: a switch on a union reached a case it does not name. */
export function unreachable(x: never): never {
  throw new Error(`unreachable: ${JSON.stringify(x)}`);
}
