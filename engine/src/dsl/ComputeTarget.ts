import type { Compute } from "../compute/Compute.js";
import { DeclarationError } from "./DeclarationFailure.js";
import type { ComputeTargetConfig } from "./workspaceConfigSchema.js";
import type { Workspace } from "../workspace/Workspace.js";

const TARGET_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * Compute targets by name, as in the seeds (`ComputeTarget.attach(ws, name, config)`): the same
 * settings pipebook.json takes under `computeTargets`, checked the same way. A step names its
 * target with `computeTarget`; whether the target can run it is checked at submit.
 */
export class ComputeTarget {
  private constructor(
    readonly name: string,
    readonly config: ComputeTargetConfig,
    /** What the engine runs steps through. */
    readonly compute: Compute,
  ) {}

  /** Adds (or replaces) a target of the workspace for this process; its leftovers from a killed engine are removed now. */
  static async attach(ws: Workspace, name: string, config: ComputeTargetConfig): Promise<ComputeTarget> {
    if (!TARGET_NAME.test(name)) throw new DeclarationError({ reason: "compute-name-invalid", name });
    const { WorkspaceConfigSchema } = await import("./workspaceConfigSchema.js");
    const parsed = WorkspaceConfigSchema.shape.computeTargets.safeParse({ [name]: config });
    if (!parsed.success) {
      throw new DeclarationError({ reason: "compute-config-invalid", name, problems: parsed.error.issues.map((i) => `${i.path.slice(1).join(".") || "(settings)"}: ${i.message}`) });
    }
    const compute = ws.attachCompute(name, parsed.data![name]!);
    await ws.recoverTargets();
    return new ComputeTarget(name, config, compute);
  }

  /** A target of the workspace by name. */
  static get(ws: Workspace, name: string): ComputeTarget {
    const config = ws.computeTargets.get(name);
    const compute = ws.getComputeTarget(name);
    if (!config || !compute) {
      throw new DeclarationError({ reason: "compute-unknown", name, known: [...(ws.computeTargetNames ?? [])].sort() });
    }
    return new ComputeTarget(name, config, compute);
  }
}
