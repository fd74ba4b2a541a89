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

/** Memory below this is refused by the engine's RunConfiguration (and by docker). */
const MIN_MEMORY_MB = 6;

/**
 * Parses the `%%step` line; every mistake is a MagicError that names the option. Values are
 * checked here; whether a target can give them (an image on `local`, more GPUs than it has) is
 * the engine's question at submit, answered in its own sentence.
 */
export function parseStepCell(args: readonly string[], body: string): StepCellSpec {
  const [name, ...rest] = args;
  if (!name || name.startsWith("-")) throw new MagicError({ reason: "step-name-missing" });
  if (!STEP_NAME_PATTERN.test(name)) throw new MagicError({ reason: "step-name-invalid", name, rule: STEP_NAME_RULE });
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
      if (v === undefined || v.startsWith("--")) throw new MagicError({ reason: "option-value-missing", magic: "step", option: opt });
      return v;
    };
    switch (opt) {
      case "--inputs": inputs.push(...list(value())); break;
      case "--outputs": outputs.push(...list(value())); break;
      case "--compute": compute = value(); break;
      case "--lang": {
        const l = value();
        if (l !== "python" && l !== "shell" && l !== "ts") throw new MagicError({ reason: "step-lang-invalid", lang: l });
        lang = l;
        break;
      }
      case "--param": paramTexts.push(value()); break;
      case "--no-reuse": allowReuse = false; break;
      case "--image": {
        const v = value();
        if (v.trim() === "" || /\s/.test(v)) throw new MagicError({ reason: "step-image-invalid", value: v });
        image = v;
        break;
      }
      case "--pip": {
        const v = value();
        const reqs = requirements(v);
        for (const r of reqs) {
          // A requirement starts with a project name; "-r x" or a lone "<2" would reach pip as something else.
          if (!/^[A-Za-z0-9]/.test(r)) throw new MagicError({ reason: "step-pip-invalid", value: v, requirement: r });
        }
        if (reqs.length === 0) throw new MagicError({ reason: "step-pip-invalid", value: v });
        pipPackages.push(...reqs);
        break;
      }
      case "--find-links": {
        const v = value();
        if (v.trim() === "") throw new MagicError({ reason: "step-find-links-empty", value: v });
        findLinks.push(v);
        break;
      }
      case "--index-url": {
        const v = value();
        if (!isUrl(v)) throw new MagicError({ reason: "step-index-url-invalid", value: v });
        indexUrl = v;
        break;
      }
      case "--gpus": gpus = wholeNumber(opt, value(), 0, "GPUs"); break;
      case "--cpus": {
        const v = value();
        const n = decimal(v);
        if (n === undefined || n <= 0) throw new MagicError({ reason: "step-number-invalid", option: "--cpus", value: v });
        cpus = n;
        break;
      }
      case "--memory": memoryMb = wholeNumber(opt, value(), MIN_MEMORY_MB, "MiB"); break;
      case "--timeout": {
        const v = value();
        const n = decimal(v);
        if (n === undefined || n <= 0) throw new MagicError({ reason: "step-number-invalid", option: "--timeout", value: v });
        timeoutSeconds = n;
        break;
      }
      default: throw new MagicError({ reason: "option-unknown", magic: "step", option: opt });
    }
  }
  if (pipPackages.length > 0 && lang !== "python") {
    throw new MagicError({ reason: "step-pip-not-python", step: name, lang });
  }
  if (pipPackages.length === 0 && (findLinks.length > 0 || indexUrl !== undefined)) {
    throw new MagicError({ reason: "step-pip-source-without-pip", step: name, option: findLinks.length > 0 ? "--find-links" : "--index-url" });
  }
  // A cell declares its parameters: each value's type is read from how it is written.
  const parsed = parseAssignments(paramTexts, [], "infer");
  if (!parsed.ok) throw new MagicError({ reason: "parameters-invalid", magic: "step", problems: parsed.problems });
  const params = parsed.values;
  if (body.trim() === "") throw new MagicError({ reason: "step-body-empty", step: name, lang });
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

function wholeNumber(opt: string, v: string, min: number, unit: "GPUs" | "MiB"): number {
  const n = /^\d+$/.test(v) ? Number(v) : undefined;
  if (n === undefined || !Number.isSafeInteger(n) || n < min) throw new MagicError({ reason: "step-whole-number-invalid", option: opt, value: v, min, unit });
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
