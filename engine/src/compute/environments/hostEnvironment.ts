import type { EnvironmentSpec } from "../../dsl/Environment.js";
import { unreachable } from "../../errors/PipebookError.js";
import type { TreeHasherDeps } from "../../fingerprint/hashTree.js";
import { ComputeError } from "../ComputeFailure.js";
import { resolveInterpreter, resolveKnownInterpreter } from "../interpreterVersion.js";
import { sharedIn, type PrepareScope } from "../Compute.js";
import type { ResolvedEnvironment } from "../StepJob.js";

export interface HostEnvironmentOptions {
  readonly stepName: string;
  readonly targetName: string;
  /** Where venvs are built (and base interpreters remembered); without one, packages are refused. */
  readonly envsDir: string | undefined;
  readonly hasher?: TreeHasherDeps;
  readonly progress: (line: string) => void;
  /** The target's sentence for a docker image it cannot run (it runs without containers). */
  readonly refuseImage: (image: string) => never;
  /** Interpreters already resolved by this submit's other steps (PrepareScope in Compute.ts). */
  readonly interpreters?: PrepareScope["interpreters"];
}

/**
 * An environment made of this machine's interpreters, for targets that run steps without
 * containers (local processes; Slurm nodes that share this machine's software tree): the
 * system, Node, a Python (its version in the key) or a venv built once per content.
 */
export async function resolveHostEnvironment(env: EnvironmentSpec, o: HostEnvironmentOptions): Promise<ResolvedEnvironment> {
  switch (env.kind) {
    case "system":
      return { key: { kind: "system" }, runtime: {} };
    case "node":
      return { key: { kind: "node", version: process.versions.node }, runtime: { interpreter: process.execPath } };
    case "python": {
      if (env.pipPackages.length === 0) {
        const found = await (o.interpreters ? sharedIn(o.interpreters, `${o.envsDir ?? ""}\0${env.interpreter}`, () => resolvePlain(env.interpreter, o.envsDir)) : resolvePlain(env.interpreter, o.envsDir));
        return { key: { kind: "python", interpreter: env.interpreter, version: found.version, pipPackages: [] }, runtime: { interpreter: found.path } };
      }
      if (!o.envsDir) {
        throw new ComputeError({ reason: "environments-unplaced", step: o.stepName, target: o.targetName, pipPackages: env.pipPackages });
      }
      // Loaded here: it starts processes (pip, venv), which a step without packages never does.
      const { ensurePythonVenv } = await import("./pythonVenv.js");
      const venv = await ensurePythonVenv({
        root: o.envsDir, interpreter: env.interpreter, pipPackages: env.pipPackages, packageSource: env.packageSource,
        progress: o.progress, stepName: o.stepName, targetName: o.targetName, ...(o.hasher && { hasher: o.hasher }),
      });
      return { key: { kind: "python", ...venv.key }, runtime: { interpreter: venv.python, env: venv.env } };
    }
    case "docker":
      return o.refuseImage(env.image);
    default:
      return unreachable(env);
  }
}

/** Remembered in the workspace across processes: a no-op rerun starts no Python at all. */
function resolvePlain(interpreter: string, envsDir: string | undefined): Promise<{ path: string; version: string }> {
  return envsDir ? resolveKnownInterpreter(envsDir, interpreter) : resolveInterpreter(interpreter);
}
