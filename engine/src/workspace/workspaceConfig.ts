import { readFile } from "node:fs/promises";
import { DeclarationError } from "../dsl/DeclarationFailure.js";
import type { WorkspaceConfig } from "../dsl/workspaceConfigSchema.js";

export type { ComputeTargetConfig, DockerTargetConfig, SlurmTargetConfig, WorkspaceConfig } from "../dsl/workspaceConfigSchema.js";

export async function readWorkspaceConfig(file: string): Promise<WorkspaceConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    throw new DeclarationError({ reason: "config-unreadable", file, message: (err as Error).message });
  }
  if (isPlainConfig(raw)) return raw;
  const { WorkspaceConfigSchema } = await import("../dsl/workspaceConfigSchema.js");
  const parsed = WorkspaceConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new DeclarationError({
      reason: "config-invalid",
      file,
      problems: parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join(".") : "(root)"}: ${i.message}`),
    });
  }
  return parsed.data;
}

/**
 * The common pipebook.json (a name, a store folder, a concurrency, no compute targets) checked
 * without loading zod, which takes longer than `pipebook runs` should. A strict subset of what
 * WorkspaceConfigSchema accepts: anything else, valid or not, is left to the schema.
 */
function isPlainConfig(raw: unknown): raw is WorkspaceConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return false;
  return Object.entries(raw).every(([key, value]) => {
    switch (key) {
      case "name":
      case "storeDir":
        return typeof value === "string" && value.length > 0;
      case "concurrency":
        return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
      default:
        return false;
    }
  });
}
