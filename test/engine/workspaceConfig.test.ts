import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readWorkspaceConfig } from "../../engine/dist/workspace/workspaceConfig.js";
import { WorkspaceConfigSchema } from "../../engine/dist/dsl/workspaceConfigSchema.js";

// readWorkspaceConfig takes the common pipebook.json without loading zod: whatever path a
// config takes, the answer must be the schema's.
let dir: string;
beforeAll(async () => (dir = await mkdtemp(join(tmpdir(), "pipebook-config-"))));
afterAll(async () => rm(dir, { recursive: true, force: true }));

const samples: unknown[] = [
  {}, { name: "team" }, { name: "" }, { storeDir: "store" }, { storeDir: 3 }, { concurrency: 3 }, { concurrency: 0 }, { concurrency: 1.5 },
  { concurrency: 2 ** 60 }, { concurrency: -1 }, { name: "a", storeDir: "b", concurrency: 2 }, { colour: "blue" }, { name: "a", colour: "blue" },
  { computeTargets: {} }, { computeTargets: { box: { kind: "docker", network: "none" } } }, { computeTargets: { box: { kind: "nope" } } },
  [], null, "name", 3,
];

describe("pipebook.json", () => {
  it("is read as the schema reads it, with or without the schema loaded", async () => {
    for (const [i, sample] of samples.entries()) {
      const file = join(dir, `config-${i}.json`);
      await writeFile(file, JSON.stringify(sample));
      const schema = WorkspaceConfigSchema.safeParse(sample);
      const read = await readWorkspaceConfig(file).then((c) => ({ ok: true as const, c }), (e: Error) => ({ ok: false as const, e }));
      expect(read.ok, JSON.stringify(sample)).toBe(schema.success);
      if (read.ok && schema.success) expect(read.c, JSON.stringify(sample)).toEqual(schema.data);
    }
  });
});
