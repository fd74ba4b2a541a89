import { unreachable } from "../errors/PipebookError.js";
import type { KeyChange } from "../fingerprint/diffKeys.js";
import type { Decision } from "./Decision.js";

/**
 * The first 12 hex digits of a digest, as a person reads it. Here rather than with the digests:
 * `show` and `why` word decisions without loading node:crypto.
 */
function shortDigest(d: string): string {
  return d.slice(0, 12);
}

const PRIORITY: readonly KeyChange["part"][] = [
  "module", "source", "parameter", "input", "program", "hashPath", "image", "environment", "compute", "outputs", "kind", "arguments", "schema",
];

/** One line for the graph and progress output. */
export function summarizeDecision(d: Decision): string {
  switch (d.reason) {
    case "reused":
      return `reused from run ${d.from.runId} (nothing it depends on changed)`;
    case "first-run":
      return "first run of this step";
    case "key-changed": {
      // Lead with the most telling change: a parameter edit also changes the arguments.
      const first = [...d.changes].sort((a, b) => PRIORITY.indexOf(a.part) - PRIORITY.indexOf(b.part))[0];
      const rest = d.changes.length - 1;
      return first ? `${formatChange(first)}${rest > 0 ? ` (+${rest} more change${rest > 1 ? "s" : ""})` : ""}` : "key changed";
    }
    case "previous-incomplete":
      return `ran: the identical earlier attempt in run ${d.comparedWith.runId} ended ${d.status}, so there was nothing to reuse`;
    case "allow-reuse-false":
      return "ran because the step sets allowReuse=false";
    case "regenerate-outputs":
      return "ran because the run was submitted with regenerateOutputs";
    case "outputs-invalid":
      return `earlier result in run ${d.from.runId} could not be reused: ${d.problems[0] ?? "outputs changed"}`;
    case "upstream-failed":
      return `not run: upstream step "${d.upstream}" did not complete`;
    case "run-canceled":
      return "not run: the run was canceled";
    default:
      return unreachable(d);
  }
}

/** The full explanation printed by `pipebook why`. */
export function explainDecision(d: Decision): string[] {
  switch (d.reason) {
    case "key-changed":
      return [
        `ran because its key differs from step run ${d.comparedWith.stepRunId} (run ${d.comparedWith.runId}, experiment ${d.comparedWith.experiment}):`,
        ...d.changes.map((c) => `  - ${formatChange(c)}`),
      ];
    case "outputs-invalid":
      return [
        `its key matched step run ${d.from.stepRunId} (run ${d.from.runId}), but that result could not be reused:`,
        ...d.problems.map((p) => `  - ${p}`),
        "so it ran again",
      ];
    case "reused":
      return [
        `reused: its key matches step run ${d.from.stepRunId} of run ${d.from.runId} (experiment ${d.from.experiment}), whose outputs still exist and verify.`,
        "nothing it depends on changed: source files, arguments, parameters, inputs, environment and compute are identical.",
      ];
    case "first-run":
      return ["ran because no earlier run of a step with this name exists in the workspace (first run)"];
    default:
      return [summarizeDecision(d)];
  }
}

function formatChange(c: KeyChange): string {
  switch (c.part) {
    case "schema":
      return `pipebook's key format changed (${c.before} → ${c.after})`;
    case "kind":
      return `step kind changed ${c.before} → ${c.after}`;
    case "program":
      return `program changed: ${c.before} → ${c.after}`;
    case "source":
      return `source file ${c.file} ${c.change}`;
    case "arguments":
      return `arguments changed: [${c.before.join(" ")}] → [${c.after.join(" ")}]`;
    case "parameter":
      return `parameter ${c.name} changed ${show(c.before)} → ${show(c.after)}`;
    case "input":
      return c.before === undefined
        ? `new input ${c.name}`
        : c.after === undefined
          ? `input ${c.name} removed`
          : `input ${c.name} changed content (${shortDigest(c.before)} → ${shortDigest(c.after)})`;
    case "outputs":
      return `outputs changed: [${c.before.join(", ")}] → [${c.after.join(", ")}]`;
    case "environment":
      if (c.field.startsWith("envVars.")) return `env var ${c.field.slice(8)} changed ${show(c.before)} → ${show(c.after)}`;
      return `environment ${c.field} changed ${show(c.before)} → ${show(c.after)}`;
    case "image":
      return `image ${c.name} changed ${shortImageId(c.before)} → ${shortImageId(c.after)}`;
    case "compute":
      return `compute ${c.field} changed ${show(c.before)} → ${show(c.after)}`;
    case "hashPath":
      return `hashed path ${c.file} ${c.change}`;
    case "module":
      if (!c.before) return `now runs module ${moduleLabel(c.after!)}`;
      if (!c.after) return `no longer runs module ${moduleLabel(c.before)}`;
      if (c.before.name !== c.after.name) return `module changed ${moduleLabel(c.before)} → ${moduleLabel(c.after)}`;
      return `module ${c.after.name} version changed "${c.before.version}" (${shortDigest(c.before.digest)}) → "${c.after.version}" (${shortDigest(c.after.digest)})`;
    default:
      return unreachable(c);
  }
}

function moduleLabel(m: { name: string; version: string; digest: string }): string {
  return `${m.name} version "${m.version}" (${shortDigest(m.digest)})`;
}

/** sha256:0123456789ab…: enough to tell two images apart at a glance. */
function shortImageId(id: string): string {
  const [algo, hex = ""] = id.includes(":") ? id.split(":", 2) : ["sha256", id];
  return `${algo}:${hex.slice(0, 12)}…`;
}

function show(v: unknown): string {
  return v === undefined ? "(unset)" : typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v);
}
