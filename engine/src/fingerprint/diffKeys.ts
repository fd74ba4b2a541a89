import type { KeyComponents } from "./KeyComponents.js";
import { canonicalJson } from "./digest.js";

/** One difference between two step keys, precise enough to name the file or value. */
export type KeyChange =
  | { readonly part: "schema"; readonly before: number; readonly after: number }
  | { readonly part: "kind"; readonly before: string; readonly after: string }
  | { readonly part: "program"; readonly before: string; readonly after: string }
  | { readonly part: "source"; readonly file: string; readonly change: "added" | "removed" | "modified" }
  | { readonly part: "arguments"; readonly before: readonly string[]; readonly after: readonly string[] }
  | { readonly part: "parameter"; readonly name: string; readonly before: unknown; readonly after: unknown }
  | { readonly part: "input"; readonly name: string; readonly before?: string; readonly after?: string }
  | { readonly part: "outputs"; readonly before: readonly string[]; readonly after: readonly string[] }
  | { readonly part: "environment"; readonly field: string; readonly before: unknown; readonly after: unknown }
  /** The image a name pointed at changed (re-tagged, rebuilt): named apart so `why` shows the name with both digests. */
  | { readonly part: "image"; readonly name: string; readonly before: string; readonly after: string }
  | { readonly part: "compute"; readonly field: string; readonly before: unknown; readonly after: unknown }
  | { readonly part: "hashPath"; readonly file: string; readonly change: "added" | "removed" | "modified" }
  /** A ModuleStep's module version (or the module) changed; absent on either side for a step that was not one. */
  | { readonly part: "module"; readonly before?: ModuleRef; readonly after?: ModuleRef };

type ModuleRef = NonNullable<KeyComponents["module"]>;

/** Lists every component that differs between an earlier key and the current one. */
export function diffKeys(before: KeyComponents, after: KeyComponents): KeyChange[] {
  const changes: KeyChange[] = [];
  if (before.schema !== after.schema) changes.push({ part: "schema", before: before.schema, after: after.schema });
  if (before.kind !== after.kind) changes.push({ part: "kind", before: before.kind, after: after.kind });
  // A module version named first: its files' changes below are what the version changed.
  if (!same(before.module, after.module)) changes.push({ part: "module", ...(before.module && { before: before.module }), ...(after.module && { after: after.module }) });
  if (before.program !== after.program) changes.push({ part: "program", before: before.program, after: after.program });
  for (const c of diffFileMaps(before.source, after.source)) changes.push({ part: "source", ...c });
  if (!same(before.arguments, after.arguments)) changes.push({ part: "arguments", before: before.arguments, after: after.arguments });
  for (const name of unionKeys(before.parameters, after.parameters)) {
    if (!same(before.parameters[name], after.parameters[name])) {
      changes.push({ part: "parameter", name, before: before.parameters[name], after: after.parameters[name] });
    }
  }
  for (const name of unionKeys(before.inputs, after.inputs)) {
    const b = before.inputs[name];
    const a = after.inputs[name];
    if (b !== a) changes.push({ part: "input", name, ...(b !== undefined && { before: b }), ...(a !== undefined && { after: a }) });
  }
  if (!same(before.outputs, after.outputs)) changes.push({ part: "outputs", before: before.outputs, after: after.outputs });
  const [imageBefore, imageAfter] = [before.environment["imageId"], after.environment["imageId"]];
  const imageName = after.environment["image"];
  const retagged = typeof imageBefore === "string" && typeof imageAfter === "string" && imageBefore !== imageAfter && typeof imageName === "string";
  if (retagged) changes.push({ part: "image", name: imageName, before: imageBefore, after: imageAfter });
  for (const [field, b, a] of flattenOneLevel(before.environment, after.environment)) {
    if (retagged && field === "imageId") continue;
    if (!same(b, a)) changes.push({ part: "environment", field, before: b, after: a });
  }
  for (const field of unionKeys(before.compute, after.compute)) {
    if (!same(before.compute[field], after.compute[field])) {
      changes.push({ part: "compute", field, before: before.compute[field], after: after.compute[field] });
    }
  }
  for (const c of diffFileMaps(before.hashPaths, after.hashPaths)) changes.push({ part: "hashPath", ...c });
  return changes;
}

function diffFileMaps(
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
): { file: string; change: "added" | "removed" | "modified" }[] {
  const out: { file: string; change: "added" | "removed" | "modified" }[] = [];
  for (const file of unionKeys(before, after)) {
    const b = before[file];
    const a = after[file];
    if (b === a) continue;
    out.push({ file, change: b === undefined ? "added" : a === undefined ? "removed" : "modified" });
  }
  return out;
}

/** Pairs fields of two objects, descending one level into nested records (envVars.MODE). */
function flattenOneLevel(before: Readonly<Record<string, unknown>>, after: Readonly<Record<string, unknown>>): [string, unknown, unknown][] {
  const out: [string, unknown, unknown][] = [];
  for (const field of unionKeys(before, after)) {
    const b = before[field];
    const a = after[field];
    if (isRecord(b) && isRecord(a)) {
      for (const sub of unionKeys(b, a)) out.push([`${field}.${sub}`, b[sub], a[sub]]);
    } else out.push([field, b, a]);
  }
  return out;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function unionKeys(a: object, b: object): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
}

function same(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
