import { parseAssignments, STEP_NAME_PATTERN, STEP_NAME_RULE, type ParameterValue } from "pipebook/contract";
import { splitArgs } from "../magics/parseMagics.js";
import { MagicError } from "../magics/magicError.js";

export type StepLanguage = "python" | "shell" | "ts";

/**
 * What one `%%step` cell declares; engine objects are built from these when a pipeline is made.
 * Only the body is written to the step's folder (its snapshot, so its reuse key); the environment
 * and resources below reach the engine as the step's RunConfiguration, which it keys itself
 * (an image by digest, packages and wheel folders by content).
 */
export interface StepCellSpec {
  readonly name: string;
  readonly lang: StepLanguage;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly compute: string;
  readonly params: Readonly<Record<string, ParameterValue>>;
  readonly allowReuse: boolean;
  /** `--image`: the step runs in this docker image (Environment.docker). */
  readonly image: string | undefined;
  /** `--pip`: requirements installed for the step (a venv on local compute, a derived image in docker). */
  readonly pipPackages: readonly string[];
  /** `--find-links`, as written: relative folders are the notebook folder's, resolved when the step is built. */
  readonly findLinks: readonly string[];
  readonly indexUrl: string | undefined;
  readonly gpus: number | undefined;
  readonly cpus: number | undefined;
  readonly memoryMb: number | undefined;
  readonly timeoutSeconds: number | undefined;
  readonly body: string;
}

export const SCRIPT_NAME: { readonly [L in StepLanguage]: string } = { python: "step.py", shell: "step.sh", ts: "step.ts" };

const USAGE = "%%step NAME [--inputs a,b] [--outputs c] [--compute local] [--lang python|shell|ts] [--param name=value] [--no-reuse]"
  + " [--image IMAGE] [--pip pkg,pkg] [--find-links DIR] [--index-url URL] [--gpus N] [--cpus N] [--memory MB] [--timeout SECONDS]";

/** Memory below this is refused by the engine's RunConfiguration (and by docker). */
const MIN_MEMORY_MB = 6;

/**
 * Parses the `%%step` line; every mistake is a MagicError that names the option. Values are
 * checked here; whether a target can give them (an image on `local`, more GPUs than it has) is
 * the engine's question at submit, answered in its own sentence.
 */
export function parseStepCell(args: readonly string[], body: string): StepCellSpec {
  const [name, ...rest] = args;
  if (!name || name.startsWith("-")) throw new MagicError("step", `%%step needs a step name first: ${USAGE}`);
  if (!STEP_NAME_PATTERN.test(name)) throw new MagicError("step", `step name "${name}" ${STEP_NAME_RULE}`);
  let lang: StepLanguage = "python";
  let compute = "local";
  let allowReuse = true;
  let image: string | undefined;
  let indexUrl: string | undefined;
  let gpus: number | undefined;
  let cpus: number | undefined;
  let memoryMb: number | undefined;
  let timeoutSeconds: number | undefined;
  const inputs: string[] = [];
  const outputs: string[] = [];
  const pipPackages: string[] = [];
  const findLinks: string[] = [];
  const paramTexts: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const opt = rest[i]!;
    const value = (): string => {
      const v = rest[++i];
      // `--image --pip x` lost the image: taking "--pip" as its value would hide that.
      if (v === undefined || v.startsWith("--")) throw new MagicError("step", `${opt} needs a value: ${USAGE}`);
      return v;
    };
    switch (opt) {
      case "--inputs": inputs.push(...list(value())); break;
      case "--outputs": outputs.push(...list(value())); break;
      case "--compute": compute = value(); break;
      case "--lang": {
        const l = value();
        if (l !== "python" && l !== "shell" && l !== "ts") throw new MagicError("step", `--lang must be python, shell or ts, not "${l}"`);
        lang = l;
        break;
      }
      case "--param": paramTexts.push(value()); break;
      case "--no-reuse": allowReuse = false; break;
      case "--image": {
        const v = value();
        if (v.trim() === "" || /\s/.test(v)) throw new MagicError("step", `--image takes a docker image name such as python:3.12-slim, got "${v}"`);
        image = v;
        break;
      }
      case "--pip": {
        const v = value();
        const reqs = requirements(v);
        for (const r of reqs) {
          // A requirement starts with a project name; "-r x" or a lone "<2" would reach pip as something else.
          if (!/^[A-Za-z0-9]/.test(r)) throw new MagicError("step", `--pip takes package requirements such as pbdemo==1.2.3, got "${r}" in "${v}"`);
        }
        if (reqs.length === 0) throw new MagicError("step", `--pip takes package requirements such as pbdemo==1.2.3, got "${v}"`);
        pipPackages.push(...reqs);
        break;
      }
      case "--find-links": {
        const v = value();
        if (v.trim() === "") throw new MagicError("step", `--find-links takes a folder of wheels, got "${v}"`);
        findLinks.push(v);
        break;
      }
      case "--index-url": {
        const v = value();
        if (!isUrl(v)) throw new MagicError("step", `--index-url takes a package index URL such as https://pypi.org/simple, got "${v}"`);
        indexUrl = v;
        break;
      }
      case "--gpus": gpus = wholeNumber(opt, value(), 0, "GPUs"); break;
      case "--cpus": {
        const v = value();
        const n = decimal(v);
        if (n === undefined || n <= 0) throw new MagicError("step", `--cpus must be a number of CPU cores > 0 (such as 2 or 0.5), got "${v}"`);
        cpus = n;
        break;
      }
      case "--memory": memoryMb = wholeNumber(opt, value(), MIN_MEMORY_MB, "MiB"); break;
      case "--timeout": {
        const v = value();
        const n = decimal(v);
        if (n === undefined || n <= 0) throw new MagicError("step", `--timeout must be a number of seconds > 0, got "${v}"`);
        timeoutSeconds = n;
        break;
      }
      default: throw new MagicError("step", `unknown option ${opt}: ${USAGE}`);
    }
  }
  if (pipPackages.length > 0 && lang !== "python") {
    throw new MagicError("step", `--pip installs Python packages, but step ${name} is a ${lang} cell, which no Python runs: write it as a python cell, or use an --image that has what it needs`);
  }
  if (pipPackages.length === 0 && (findLinks.length > 0 || indexUrl !== undefined)) {
    throw new MagicError("step", `${findLinks.length > 0 ? "--find-links" : "--index-url"} says where pip finds the packages that --pip names, and step ${name} names none: add --pip`);
  }
  // A cell declares its parameters: each value's type is read from how it is written.
  const parsed = parseAssignments(paramTexts, [], "infer");
  if (!parsed.ok) throw new MagicError("step", `--param: ${parsed.problems.join("; ")}`);
  const params = parsed.values;
  if (body.trim() === "") throw new MagicError("step", `the body of step ${name} is empty: write its ${lang} script below the %%step line`);
  return { name, lang, inputs, outputs, compute, params, allowReuse, image, pipPackages, findLinks, indexUrl, gpus, cpus, memoryMb, timeoutSeconds, body };
}

function list(v: string): string[] {
  return v.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * Splits `--pip a,b[x,y]>=1,<2` into requirements: commas inside extras' brackets and commas
 * before a version clause (`<2`, `!=1.1`) belong to the requirement, as in pip's own syntax.
 */
function requirements(v: string): string[] {
  const out: string[] = [];
  let current = "";
  let depth = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === "[") depth++;
    else if (c === "]") depth = Math.max(0, depth - 1);
    if (c === "," && depth === 0 && !/^\s*[<>=!~]/.test(v.slice(i + 1))) {
      out.push(current);
      current = "";
    } else current += c;
  }
  out.push(current);
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

function wholeNumber(opt: string, v: string, min: number, unit: string): number {
  const n = /^\d+$/.test(v) ? Number(v) : undefined;
  if (n === undefined || !Number.isSafeInteger(n) || n < min) throw new MagicError("step", `${opt} must be a whole number${unit === "GPUs" ? "" : ` of ${unit}`} ≥ ${min}, got "${v}"`);
  return n;
}

/** Plain decimals only: `Number()` would also take "0x10", "1e3" and "" (as 0). */
function decimal(v: string): number | undefined {
  return /^(\d+(\.\d*)?|\.\d+)$/.test(v) ? Number(v) : undefined;
}

function isUrl(v: string): boolean {
  try {
    return ["http:", "https:", "file:"].includes(new URL(v).protocol);
  } catch {
    return false;
  }
}


export { splitArgs };
