/**
 * Errors that are expected (a bad parameter, a missing script, a refused target) carry this
 * registered mark, whichever copy of pipebook threw them. A surface words them as the sentence
 * they are — the CLI prints it and exits 2, the REST server answers 4xx, the notebook shows it
 * with the user's own cell frames only — instead of as a crash with the engine's stack.
 */
export const EXPECTED_FAILURE: unique symbol = Symbol.for("pipebook.expectedFailure") as never;

export function isExpectedFailure(e: unknown): e is Error {
  return e instanceof Error && (e as unknown as Record<symbol, unknown>)[EXPECTED_FAILURE] === true;
}
