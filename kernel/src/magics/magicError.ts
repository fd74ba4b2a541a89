import { unreachable } from "../unreachable.js";

/** The line `%%step` prints when its line is wrong. */
const STEP_USAGE = "%%step NAME [--inputs a,b] [--outputs c] [--compute local] [--lang python|shell|ts] [--param name=value] [--no-reuse]"
  + " [--image IMAGE] [--pip pkg,pkg] [--find-links DIR] [--index-url URL] [--gpus N] [--cpus N] [--memory MB] [--timeout SECONDS]";

/**
 * Expected failures of the kernel's magics (an unknown magic, a bad option or value), as data;
 * `describeMagicFailure` words them, the notebook shows that sentence.
 */
export type MagicFailure =
  | { readonly reason: "magic-unknown"; readonly kind: "line" | "cell"; readonly name: string; readonly known: readonly string[] }
  | { readonly reason: "typecheck-mode-invalid"; readonly mode: string }
  | { readonly reason: "pipeline-subcommand-unknown"; readonly subcommand: string }
  | { readonly reason: "option-unknown"; readonly magic: "pipeline" | "step"; readonly option: string }
  | { readonly reason: "option-value-missing"; readonly magic: "pipeline" | "step"; readonly option: string }
  | { readonly reason: "parameters-invalid"; readonly magic: "pipeline" | "step"; readonly problems: readonly string[] }
  | { readonly reason: "pipeline-empty" }
  | { readonly reason: "step-output-not-pipeline-data"; readonly step: string; readonly output: string; readonly is: "DataReference" | "dataset" }
  | { readonly reason: "step-name-missing" }
  | { readonly reason: "step-name-invalid"; readonly name: string; readonly rule: string }
  | { readonly reason: "step-lang-invalid"; readonly lang: string }
  | { readonly reason: "step-image-invalid"; readonly value: string }
  /** `requirement` is the one that is wrong, absent when `--pip` names none. */
  | { readonly reason: "step-pip-invalid"; readonly value: string; readonly requirement?: string }
  | { readonly reason: "step-find-links-empty"; readonly value: string }
  | { readonly reason: "step-index-url-invalid"; readonly value: string }
  | { readonly reason: "step-number-invalid"; readonly option: "--cpus" | "--timeout"; readonly value: string }
  | { readonly reason: "step-whole-number-invalid"; readonly option: string; readonly value: string; readonly min: number; readonly unit: "GPUs" | "MiB" }
  | { readonly reason: "step-pip-not-python"; readonly step: string; readonly lang: string }
  | { readonly reason: "step-pip-source-without-pip"; readonly step: string; readonly option: "--find-links" | "--index-url" }
  | { readonly reason: "step-body-empty"; readonly step: string; readonly lang: string };

/** A magic was used wrongly: `failure` says how, the message is its one sentence. */
export class MagicError extends Error {
  constructor(readonly failure: MagicFailure) {
    super(describeMagicFailure(failure));
    this.name = "MagicError";
  }
}

export function describeMagicFailure(f: MagicFailure): string {
  switch (f.reason) {
    case "magic-unknown": {
      const p = f.kind === "line" ? "%" : "%%";
      return `unknown ${f.kind} magic ${p}${f.name}. Known: ${f.known.map((k) => `${p}${k}`).join(", ")}`;
    }
    case "typecheck-mode-invalid":
      return `%typecheck takes refuse, report or off, not "${f.mode}"`;
    case "pipeline-subcommand-unknown":
      return `%pipeline takes run, show or list, not "${f.subcommand}"`;
    case "option-unknown":
      return f.magic === "pipeline" ? `unknown option ${f.option}` : `unknown option ${f.option}: ${STEP_USAGE}`;
    case "option-value-missing":
      return f.magic === "pipeline" ? `${f.option} takes name=value` : `${f.option} needs a value: ${STEP_USAGE}`;
    case "parameters-invalid":
      return (f.magic === "step" ? "--param: " : "") + f.problems.join("; ");
    case "pipeline-empty":
      return "this notebook has no %%step cells yet: run some first";
    case "step-output-not-pipeline-data":
      return `step ${f.step}: output "${f.output}" is a ${f.is} in this notebook; outputs must be PipelineData`;
    case "step-name-missing":
      return `%%step needs a step name first: ${STEP_USAGE}`;
    case "step-name-invalid":
      return `step name "${f.name}" ${f.rule}`;
    case "step-lang-invalid":
      return `--lang must be python, shell or ts, not "${f.lang}"`;
    case "step-image-invalid":
      return `--image takes a docker image name such as python:3.12-slim, got "${f.value}"`;
    case "step-pip-invalid":
      return `--pip takes package requirements such as pbdemo==1.2.3, got ` + (f.requirement === undefined ? `"${f.value}"` : `"${f.requirement}" in "${f.value}"`);
    case "step-find-links-empty":
      return `--find-links takes a folder of wheels, got "${f.value}"`;
    case "step-index-url-invalid":
      return `--index-url takes a package index URL such as https://pypi.org/simple, got "${f.value}"`;
    case "step-number-invalid":
      return f.option === "--cpus"
        ? `--cpus must be a number of CPU cores > 0 (such as 2 or 0.5), got "${f.value}"`
        : `--timeout must be a number of seconds > 0, got "${f.value}"`;
    case "step-whole-number-invalid":
      return `${f.option} must be a whole number${f.unit === "GPUs" ? "" : ` of ${f.unit}`} ≥ ${f.min}, got "${f.value}"`;
    case "step-pip-not-python":
      return `--pip installs Python packages, but step ${f.step} is a ${f.lang} cell, which no Python runs: write it as a python cell, or use an --image that has what it needs`;
    case "step-pip-source-without-pip":
      return `${f.option} says where pip finds the packages that --pip names, and step ${f.step} names none: add --pip`;
    case "step-body-empty":
      return `the body of step ${f.step} is empty: write its ${f.lang} script below the %%step line`;
    default:
      return unreachable(f);
  }
}
