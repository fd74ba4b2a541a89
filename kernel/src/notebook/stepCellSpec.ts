import type { ParameterValue } from "pipebook/contract";
import { splitArgs } from "../magics/parseMagics.js";
import { MagicError } from "../magics/magicError.js";

export type StepLanguage = "python" | "shell" | "ts";

/** What one `%%step` cell declares; engine objects are built from these when a pipeline is made. */
export interface StepCellSpec {
  readonly name: string;
  readonly lang: StepLanguage;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly compute: string;
  readonly params: Readonly<Record<string, ParameterValue>>;
  readonly allowReuse: boolean;
  readonly body: string;
}

export const SCRIPT_NAME: { readonly [L in StepLanguage]: string } = { python: "step.py", shell: "step.sh", ts: "step.ts" };

const USAGE = "%%step NAME [--inputs a,b] [--outputs c] [--compute local] [--lang python|shell|ts] [--param name=value] [--no-reuse]";

/** Parses the `%%step` line; every mistake is a MagicError that names the option. */
export function parseStepCell(args: readonly string[], body: string): StepCellSpec {
  const [name, ...rest] = args;
  if (!name || name.startsWith("-")) throw new MagicError("step", `%%step needs a step name first: ${USAGE}`);
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) throw new MagicError("step", `step name "${name}" must start with a letter or _ and hold only letters, digits, _ . -`);
  let lang: StepLanguage = "python";
  let compute = "local";
  let allowReuse = true;
  const inputs: string[] = [];
  const outputs: string[] = [];
  const params: Record<string, ParameterValue> = {};
  for (let i = 0; i < rest.length; i++) {
    const opt = rest[i]!;
    const value = (): string => {
      const v = rest[++i];
      if (v === undefined) throw new MagicError("step", `${opt} needs a value: ${USAGE}`);
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
      case "--param": {
        const p = value();
        const eq = p.indexOf("=");
        if (eq <= 0) throw new MagicError("step", `--param takes name=value, got "${p}"`);
        params[p.slice(0, eq)] = parseValue(p.slice(eq + 1));
        break;
      }
      case "--no-reuse": allowReuse = false; break;
      default: throw new MagicError("step", `unknown option ${opt}: ${USAGE}`);
    }
  }
  if (body.trim() === "") throw new MagicError("step", `the body of step ${name} is empty: write its ${lang} script below the %%step line`);
  return { name, lang, inputs, outputs, compute, params, allowReuse, body };
}

function list(v: string): string[] {
  return v.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Parameter values are typed by how they are written: numbers, true/false, else text. */
function parseValue(v: string): ParameterValue {
  if (v === "true") return true;
  if (v === "false") return false;
  if (v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return v;
}

export { splitArgs };
