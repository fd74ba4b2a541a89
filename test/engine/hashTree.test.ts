import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashEntries, hashTree, walk } from "../../engine/src/fingerprint/hashTree.js";
import { sandbox, type Sandbox } from "./helpers.js";

// hashTree lists a small tree with synchronous calls (no thread-pool round trip per readdir and
// stat: a no-op rerun checks every reused output this way) and a large one with walk. Both must
// see the same files: followed file links, no dangling link, no link to a folder, nested folders.
let sb: Sandbox;
beforeAll(async () => (sb = await sandbox()));
afterAll(async () => sb.close());

async function tree(root: string, files: number): Promise<void> {
  await mkdir(join(root, "a", "b"), { recursive: true });
  for (let i = 0; i < files; i++) await writeFile(join(root, i % 2 ? "a" : "a/b", `f${i}.txt`), `content ${i}\n`);
  await writeFile(join(root, "top.txt"), "top\n");
  await symlink(join(root, "top.txt"), join(root, "link-to-file"));
  await symlink(join(root, "missing"), join(root, "dangling"));
  await symlink(join(root, "a"), join(root, "link-to-folder"));
}

describe("hashTree", () => {
  it.each([
    ["a small tree (listed synchronously)", 6],
    ["a tree over the small-tree bound (listed by walk)", 80],
  ])("sees in %s the files walk lists, and nothing else", async (_, files) => {
    const root = join(sb.dir, `tree-${files}`);
    await tree(root, files);
    const deps = { cache: sb.ws.statCache, pool: sb.ws.hashPool };
    const got = await hashTree(root, deps);
    const listed = await hashEntries(await walk(root), "dir", deps);
    expect([...got.files.keys()].sort()).toEqual([...listed.files.keys()].sort());
    expect(got.files.size).toBe(files + 2);
    expect(got.files.has("link-to-file")).toBe(true);
    expect(got.files.has("dangling")).toBe(false);
    expect([...got.files.keys()].some((k) => k.startsWith("link-to-folder"))).toBe(false);
    expect(got.digest).toBe(listed.digest);
  });

  it("refuses a path that is not there, as before", async () => {
    await expect(hashTree(join(sb.dir, "nowhere"), { cache: sb.ws.statCache, pool: sb.ws.hashPool })).rejects.toThrow(/ENOENT/);
  });
});

describe("HashPool", () => {
  it("hashes a batch over 16 MiB on its worker threads to the digests hashFile gives", async () => {
    // From dist/: the pool starts dist/fingerprint/hashWorker.js, next to it.
    const { HashPool } = await import("../../engine/dist/fingerprint/HashPool.js");
    const { hashFile } = await import("../../engine/dist/fingerprint/hashFile.js");
    const files = [join(sb.dir, "big-a.bin"), join(sb.dir, "big-b.bin")];
    await writeFile(files[0]!, Buffer.alloc(9 << 20, 1));
    await writeFile(files[1]!, Buffer.alloc(9 << 20, 2));
    const pool = new HashPool(2);
    try {
      const digests = await pool.hashAll(files, 18 << 20);
      expect(digests).toEqual([await hashFile(files[0]!, Buffer.alloc(1 << 20)), await hashFile(files[1]!, Buffer.alloc(1 << 20))]);
      expect(digests[0]).not.toBe(digests[1]);
    } finally {
      await pool.close();
    }
  });
});
