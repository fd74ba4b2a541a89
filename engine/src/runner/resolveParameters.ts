import { checkAssignments, parseAssignments, type DeclaredParameter, type ParsedParameters } from "../contract/parameters.js";
import type { ParameterValue } from "../contract/runView.js";
import { SubmitError } from "./SubmitFailure.js";

/**
 * Applies typed assignments (REST, DSL, schedules) to a pipeline's parameters, with the
 * contract's rules (pipebook/contract `checkAssignments`); all problems are refused at once.
 */
export function resolveParameters(
  declared: readonly DeclaredParameter[],
  assignments: Readonly<Record<string, unknown>> = {},
): Record<string, ParameterValue> {
  return valuesOrThrow(checkAssignments(assignments, declared));
}

/** `name=value` texts of a run (`pipebook run -p`, schedules), read by each parameter's declared type. */
export function parseRunAssignments(declared: readonly DeclaredParameter[], texts: readonly string[]): Record<string, ParameterValue> {
  return valuesOrThrow(parseAssignments(texts, declared, "refuse"));
}

function valuesOrThrow(parsed: ParsedParameters): Record<string, ParameterValue> {
  if (parsed.ok) return parsed.values;
  throw new SubmitError({ reason: "parameters-invalid", problems: [...parsed.problems] });
}
