import { mkdir, readFile, symlink } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Experiment, Pipeline, PythonScriptStep } from "pipebook";
import { sandbox, type Sandbox } from "./helpers.js";

// The stated rule for links: a snapshot follows links inside its source folder and refuses links
// out of it and loops; an upload copies files and refuses links; nothing writes through a link
// out of a datastore.
let sb: Sandbox;
beforeEach(async () => { sb = await sandbox(); });
afterEach(async () => sb.close());

const submit = (sourceDirectory: string) =>
  new Experiment(sb.ws, "links").submit(new Pipeline(sb.ws, { steps: [new PythonScriptStep({ name: "s", scriptName: "s.py", sourceDirectory })] }));

describe("symbolic links", () => {
  it("snapshots a link inside the source folder as the file it points to", async () => {
    await sb.write("src/s.py", "print(open('alias.txt').read())\n");
    await sb.write("src/data/real.txt", "inside");
    await symlink("data/real.txt", join(sb.dir, "src", "alias.txt"));
    const view = await (await submit(join(sb.dir, "src"))).waitForCompletion();
    expect(view.steps[0]).toMatchObject({ status: "completed", logTail: "inside\n" });
  });

  it("refuses a link out of the source folder, naming it, unless it is ignored", async () => {
    await sb.write("src/s.py", "print(1)\n");
    await sb.write("elsewhere/secret.txt", "outside");
    await symlink(join(sb.dir, "elsewhere", "secret.txt"), join(sb.dir, "src", "leak.txt"));
    await expect(submit(join(sb.dir, "src"))).rejects.toThrow(/"leak\.txt" links to .*elsewhere\/secret\.txt, outside the folder/);
    await sb.write("src/.amlignore", "leak.txt\n");
    expect((await (await submit(join(sb.dir, "src"))).waitForCompletion()).status).toBe("completed");
  });

  it("refuses a link loop instead of walking it forever", async () => {
    await sb.write("src/sub/s.py", "print(1)\n");
    await symlink("..", join(sb.dir, "src", "sub", "up"));
    await expect(submit(join(sb.dir, "src"))).rejects.toThrow(/"sub\/up" links back to a folder that contains it \(a loop\)/);
  });

  it("uploads refuse folders holding links and the datastore root as a target, and never write through a link out", async () => {
    const store = sb.ws.getDefaultDatastore();
    await sb.write("upload/a.txt", "a");
    await expect(store.uploadDirectory(join(sb.dir, "upload"), { targetPath: "" })).rejects.toThrow(/root of datastore workspaceblobstore: that would replace everything/);
    await symlink("/etc", join(sb.dir, "upload", "etc"));
    await expect(store.uploadDirectory(join(sb.dir, "upload"), { targetPath: "u" })).rejects.toThrow(/"etc" is a symbolic link; uploads copy files, not links/);
    // A link inside the datastore (left by a step or by hand) that leads out: writes below it are refused.
    const outside = join(sb.dir, "outside");
    await mkdir(outside);
    await mkdir(store.root, { recursive: true });
    await symlink(outside, join(store.root, "door"));
    await sb.write("f.txt", "payload");
    await expect(store.uploadFiles([join(sb.dir, "f.txt")], { targetPath: "door" })).rejects.toThrow(/"door\/f\.txt" .*goes through a link that leads out of the datastore/);
    await expect(readFile(join(outside, "f.txt"))).rejects.toThrow(/ENOENT/);
    // The whole datastore is still there.
    await store.uploadFiles([join(sb.dir, "f.txt")], { targetPath: "kept" });
    expect(await readFile(store.resolve("kept/f.txt"), "utf8")).toBe("payload");
  });
});
