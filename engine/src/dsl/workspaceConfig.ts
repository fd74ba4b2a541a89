import { readFile } from "node:fs/promises";
import { z } from "zod";
import { PipebookError } from "../errors/PipebookError.js";

/** `pipebook.json`: what a project says about its workspace. Every field is optional. */
export const WorkspaceConfigSchema = z.strictObject({
  /** Shown in lists; defaults to the folder name. */
  name: z.string().min(1).optional(),
  /** Where the embedded store lives, relative to the config file (default ".pipebook"). */
  storeDir: z.string().min(1).optional(),
  /** Steps running at once (default: the machine's cores). */
  concurrency: z.number().int().positive().optional(),
  /** Named compute targets besides the built-in "local". */
  computeTargets: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/),
      z.discriminatedUnion("kind", [z.strictObject({ kind: z.literal("local") })]),
    )
    .optional(),
});

export type WorkspaceConfig = z.infer<typeof WorkspaceConfigSchema>;

export async function readWorkspaceConfig(file: string): Promise<WorkspaceConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    throw new PipebookError("config-invalid", `cannot read ${file}: ${(err as Error).message}`);
  }
  const parsed = WorkspaceConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new PipebookError(
      "config-invalid",
      `${file} is not a valid pipebook.json:`,
      parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join(".") : "(root)"}: ${i.message}`),
    );
  }
  return parsed.data;
}
