import { chmod, mkdtemp, readFile, rm, stat, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Workspace } from "pipebook";
import { sandbox, type Sandbox } from "./helpers.js";

let sb: Sandbox;
beforeEach(async () => (sb = await sandbox()));
afterEach(async () => sb.close());

describe("the default datastore", () => {
  it("is workspaceblobstore, uploads files and folders, refuses to overwrite unless asked, downloads", async () => {
    const store = sb.ws.getDefaultDatastore();
    expect(store.name).toBe("workspaceblobstore");
    const a = await sb.write("in/a.csv", "x\n1\n");
    await sb.write("in/nested/b.txt", "b");
    expect(await store.uploadFiles([a], { targetPath: "train" })).toEqual(["train/a.csv"]);
    await expect(store.uploadFiles([a], { targetPath: "train" })).rejects.toThrow('datastore workspaceblobstore already has "train/a.csv"; pass overwrite: true to replace it');
    await writeFile(a, "x\n2\n");
    await store.uploadFiles([a], { targetPath: "train", overwrite: true });
    expect(await readFile(store.resolve("train/a.csv"), "utf8")).toBe("x\n2\n");
    await store.uploadDirectory(join(sb.dir, "in"), { targetPath: "folder" });
    const out = await mkdtemp(join(tmpdir(), "pipebook-dl-"));
    try {
      const dest = await store.download(out, { prefix: "folder" });
      expect(await readFile(join(dest, "nested", "b.txt"), "utf8")).toBe("b");
      await expect(store.download(out, { prefix: "folder" })).rejects.toThrow(/exists; pass overwrite: true/);
      await expect(store.download(out, { prefix: "nothing" })).rejects.toThrow('datastore workspaceblobstore has nothing at "nothing"');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it("leaves a file uploaded again with overwrite as it is when nothing changed, and replaces one whose bytes or mode did", async () => {
    const store = sb.ws.getDefaultDatastore();
    const a = await sb.write("in/a.csv", "x\n1\n");
    await store.uploadFiles([a], { targetPath: "t" });
    const dest = store.resolve("t/a.csv");
    const first = await stat(dest);
    expect(await store.uploadFiles([a], { targetPath: "t", overwrite: true })).toEqual(["t/a.csv"]);
    const again = await stat(dest);
    // The same file: its stat (and with it the stat cache's hash of it) still holds.
    expect([again.ino, again.mtimeMs]).toEqual([first.ino, first.mtimeMs]);
    // Same size, other bytes: replaced.
    await writeFile(a, "x\n2\n");
    await store.uploadFiles([a], { targetPath: "t", overwrite: true });
    expect(await readFile(dest, "utf8")).toBe("x\n2\n");
    // Same bytes, other permissions: replaced, as a copy would leave them.
    await chmod(a, 0o600);
    await store.uploadFiles([a], { targetPath: "t", overwrite: true });
    expect((await stat(dest)).mode & 0o777).toBe(0o600);
    // An empty file over a non-empty one, and again over itself.
    await writeFile(a, "");
    await store.uploadFiles([a], { targetPath: "t", overwrite: true });
    await store.uploadFiles([a], { targetPath: "t", overwrite: true });
    expect(await readFile(dest, "utf8")).toBe("");
  });

  it("refuses paths that leave the datastore and files that do not exist", async () => {
    const store = sb.ws.getDefaultDatastore();
    expect(() => store.resolve("../../etc/passwd")).toThrow('path "../../etc/passwd" leaves datastore workspaceblobstore');
    await expect(store.uploadFiles([join(sb.dir, "missing.csv")])).rejects.toThrow(/cannot upload .*missing.csv: no such file/);
  });
});

describe("pipebook.json", () => {
  it("is found up the tree, names the store folder, and a bad one is refused with the field named", async () => {
    const root = await mkdtemp(join(tmpdir(), "pipebook-cfg-"));
    try {
      await writeFile(join(root, "pipebook.json"), JSON.stringify({ name: "team", storeDir: "store", concurrency: 3 }));
      await mkdir(join(root, "a", "b"), { recursive: true });
      const ws = await Workspace.fromConfig({ path: join(root, "a", "b") });
      expect([ws.name, ws.root, ws.dir, ws.concurrency]).toEqual(["team", root, join(root, "store"), 3]);
      await ws.close();
      await writeFile(join(root, "pipebook.json"), JSON.stringify({ concurrency: 0, colour: "blue" }));
      await expect(Workspace.fromConfig({ path: root })).rejects.toThrow(/is not a valid pipebook.json:\n {2}- (\(root\): Unrecognized key: "colour"|concurrency: .*)/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
