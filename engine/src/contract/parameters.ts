import type { ParameterValue } from "./runView.js";

/**
 * Pipeline parameters as every surface takes them: `name=value` text (the CLI's `-p`, `%%step
 * --param`, `%pipeline run -p`) and JSON objects (REST `ParameterAssignments`, the DSL). One set
 * of rules, so a value accepted in one place is accepted everywhere: a declared parameter's type
 * decides how its text is read (`tag=007` stays the string "007"); only a declaration (`%%step
 * --param`) reads the type from how the value is written.
 */

export type ParameterType = "string" | "number" | "boolean";

export interface DeclaredParameter {
  readonly name: string;
  readonly type: ParameterType;
  readonly defaultValue: ParameterValue;
}

/**
 * A parameter value's text, at most this many bytes in UTF-8. A step gets it in an environment
 * variable, and Linux starts no process with a variable over 128 KiB: counted in characters, 64 Ki
 * of "€" (3 bytes each) passed the bound and then could not be launched.
 */
export const MAX_PARAMETER_BYTES = 64 * 1024;

/** Letters, digits and `_`, not starting with a digit: the name becomes `PIPEBOOK_PARAM_<NAME>`. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Decimal numbers as people write them: no hex, octal, binary, `Infinity` or blank. */
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export type ParsedParameters =
  | { readonly ok: true; readonly values: Record<string, ParameterValue> }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Why a parameter name cannot be used, or undefined when it can. */
export function parameterNameProblem(name: string): string | undefined {
  // A JSON object cannot carry it reliably: most parsers of it set the object's prototype.
  if (name === "__proto__") return `parameter name "__proto__" is reserved`;
  if (NAME.test(name)) return undefined;
  return `parameter name ${JSON.stringify(name)} must be letters, digits and _, not starting with a digit`;
}

/** Why a value cannot be a parameter's, or undefined when it can (the type is checked apart). */
export function parameterValueProblem(name: string, value: unknown): string | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? undefined : `parameter "${name}" must be a finite number, got ${String(value)}`;
  if (typeof value === "boolean") return undefined;
  if (typeof value !== "string") return `parameter "${name}" must be a string, number or boolean, got ${value === null ? "null" : typeof value}`;
  if (value.includes("\0")) return `parameter "${name}" holds a NUL character, which no process can be given`;
  const bytes = utf8Length(value);
  if (bytes > MAX_PARAMETER_BYTES) return `parameter "${name}" is ${bytes} bytes long in UTF-8; the limit is ${MAX_PARAMETER_BYTES} bytes (64 KiB)`;
  return undefined;
}

/** UTF-8 length without Node's Buffer (the contract runs in browsers too) or a copy of the text. */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Reads `raw` as a value of `type`; a string is taken as written. */
export function readParameterValue(name: string, type: ParameterType, raw: string): ParameterValue | { readonly problem: string } {
  if (type === "string") return raw;
  if (type === "number") return NUMBER.test(raw.trim()) ? Number(raw) : { problem: `parameter "${name}" must be a number, got "${raw}"` };
  if (raw === "true" || raw === "false") return raw === "true";
  return { problem: `parameter "${name}" must be true or false, got "${raw}"` };
}

/** A declaration's value, typed by how it is written: true/false, a decimal number, else text. */
export function inferParameterValue(raw: string): ParameterValue {
  if (raw === "true" || raw === "false") return raw === "true";
  return NUMBER.test(raw) ? Number(raw) : raw;
}

/**
 * Parses `name=value` texts. A name in `declared` is read as its type; any other name is read
 * by `undeclared`: "infer" for declarations (`%%step --param`), "refuse" where only declared
 * parameters can be set (runs). Every problem is reported, each naming its parameter.
 */
export function parseAssignments(
  texts: readonly string[],
  declared: readonly Pick<DeclaredParameter, "name" | "type">[],
  undeclared: "infer" | "refuse",
): ParsedParameters {
  const problems: string[] = [];
  const values: Record<string, ParameterValue> = Object.create(null) as Record<string, ParameterValue>;
  const types = new Map(declared.map((d) => [d.name, d.type]));
  for (const text of texts) {
    const eq = text.indexOf("=");
    if (eq <= 0) {
      problems.push(`parameter assignment "${text}" must look like name=value`);
      continue;
    }
    const name = text.slice(0, eq);
    const raw = text.slice(eq + 1);
    const type = types.get(name);
    const nameProblem = parameterNameProblem(name);
    if (nameProblem) {
      problems.push(nameProblem);
      continue;
    }
    if (type === undefined && undeclared === "refuse") {
      problems.push(unknownParameter(name, [...types.keys()]));
      continue;
    }
    const value = type === undefined ? inferParameterValue(raw) : readParameterValue(name, type, raw);
    const problem = typeof value === "object" ? value.problem : parameterValueProblem(name, value);
    if (problem) problems.push(problem);
    else if (typeof value !== "object") values[name] = value;
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, values: { ...values } };
}

/**
 * Checks typed assignments (REST bodies, the DSL) against what is declared and fills in the
 * defaults: unknown names and values of the wrong type are refused, never coerced.
 */
export function checkAssignments(
  assignments: Readonly<Record<string, unknown>>,
  declared: readonly DeclaredParameter[],
): ParsedParameters {
  const problems: string[] = [];
  const byName = new Map(declared.map((p) => [p.name, p]));
  const values: Record<string, ParameterValue> = {};
  for (const p of declared) values[p.name] = p.defaultValue;
  for (const [name, value] of Object.entries(assignments)) {
    const p = byName.get(name);
    if (!p) {
      problems.push(name === "__proto__" ? parameterNameProblem(name)! : unknownParameter(name, [...byName.keys()]));
      continue;
    }
    const problem = typeof value !== p.type
      ? `parameter "${name}" must be a ${p.type} (its default is ${JSON.stringify(p.defaultValue)}), got ${JSON.stringify(value)}`
      : parameterValueProblem(name, value);
    if (problem) problems.push(problem);
    else values[name] = value as ParameterValue;
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, values };
}

function unknownParameter(name: string, known: readonly string[]): string {
  const sorted = [...known].sort();
  return `unknown parameter "${name}" (the pipeline has ${sorted.length > 0 ? sorted.join(", ") : "no parameters"})`;
}
