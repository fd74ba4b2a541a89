import type { ParameterValue } from "../contract/runView.js";
import type { PipelineParameter } from "../dsl/PipelineParameter.js";
import { PipebookError } from "../errors/PipebookError.js";

/**
 * Applies assignments to a pipeline's parameters. Unknown names and values of the wrong type
 * are refused (all problems at once), never coerced: a string "0.1" for a number parameter
 * is an error, because REST callers and CLI users both deserve to know.
 */
export function resolveParameters(
  declared: readonly PipelineParameter[],
  assignments: Readonly<Record<string, unknown>> = {},
): Record<string, ParameterValue> {
  const problems: string[] = [];
  const byName = new Map(declared.map((p) => [p.name, p]));
  const values: Record<string, ParameterValue> = {};
  for (const p of declared) values[p.name] = p.defaultValue;
  for (const [name, value] of Object.entries(assignments)) {
    const p = byName.get(name);
    if (!p) {
      const known = [...byName.keys()].sort();
      problems.push(`unknown parameter "${name}" (the pipeline has ${known.length > 0 ? known.join(", ") : "no parameters"})`);
      continue;
    }
    if (typeof value !== p.type || (p.type === "number" && !Number.isFinite(value))) {
      problems.push(`parameter "${name}" must be a ${p.type} (its default is ${JSON.stringify(p.defaultValue)}), got ${JSON.stringify(value)}`);
      continue;
    }
    values[name] = value as ParameterValue;
  }
  if (problems.length > 0) throw new PipebookError("parameter-invalid", "invalid parameter assignments:", problems);
  return values;
}

/**
 * Parses `name=value` text (CLI) against the declared type: numbers and booleans are
 * parsed, strings taken as they are; a value that does not parse is an error.
 */
export function parseAssignment(declared: readonly PipelineParameter[], text: string): [string, ParameterValue] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new PipebookError("parameter-invalid", `parameter assignment "${text}" must look like name=value`);
  const name = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  const p = declared.find((d) => d.name === name);
  if (!p || p.type === "string") return [name, raw];
  if (p.type === "number") {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n)) throw new PipebookError("parameter-invalid", `parameter "${name}" must be a number, got "${raw}"`);
    return [name, n];
  }
  if (raw === "true" || raw === "false") return [name, raw === "true"];
  throw new PipebookError("parameter-invalid", `parameter "${name}" must be true or false, got "${raw}"`);
}
