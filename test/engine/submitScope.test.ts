import fs from "node:fs";
import fsp from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Experiment, Pipeline, PythonScriptStep } from "pipebook";
import { sandbox, type Sandbox } from "./helpers.js";

// What the steps of one submit share (runner/prepareStep.ts SubmitScope): the interpreter their
// target resolved and the snapshot of their source folder. Counted at the file system the engine
// calls: each resolution of a remembered interpreter reads the workspace's interpreters.json
// once, each snapshot walk lists the source folder once. Node's fs functions are wrapped in this
// test process and the wrappers reach the engine's named imports through syncBuiltinESMExports.
let sb: Sandbox;
let restore: (() => void) | undefined;
beforeEach(async () => { sb = await sandbox(); });
afterEach(async () => {
  restore?.();
  restore = undefined;
  await sb.close();
});

/** Counts the engine's reads of interpreters.json and listings of `dir` from here on. */
function countFileSystem(dir: string): { interpreterReads: number; folderWalks: number } {
  const counts = { interpreterReads: 0, folderWalks: 0 };
  const { readFileSync } = fs;
  const { readdir } = fsp;
  fs.readFileSync = ((path: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
    if (typeof path === "string" && path.endsWith("/interpreters.json")) counts.interpreterReads++;
    return (readFileSync as (...a: unknown[]) => unknown)(path, ...rest);
  }) as typeof fs.readFileSync;
  fsp.readdir = ((path: fs.PathLike, ...rest: unknown[]) => {
    if (path === dir) counts.folderWalks++;
    return (readdir as (...a: unknown[]) => unknown)(path, ...rest);
  }) as typeof fsp.readdir;
  syncBuiltinESMExports();
  restore = () => {
    fs.readFileSync = readFileSync;
    fsp.readdir = readdir;
    syncBuiltinESMExports();
  };
  return counts;
}

const pipelineOf = (src: string, scripts: readonly string[]) =>
  new Pipeline(sb.ws, { steps: scripts.map((scriptName, i) => new PythonScriptStep({ name: `s${i}`, scriptName, sourceDirectory: src, allowReuse: false })) });

describe("one submit shares what its steps have in common", () => {
  it("three python3 steps in one folder: the interpreter resolved once, the folder walked once; the next submit does both again", async () => {
    const src = join(sb.dir, "src");
    await sb.write("src/a.py", "print('a')\n");
    await sb.write("src/b.py", "print('b')\n");
    // A first submit remembers python3 in the workspace, so the counted ones read the record.
    expect((await (await new Experiment(sb.ws, "scope").submit(pipelineOf(src, ["a.py"]))).waitForCompletion()).status).toBe("completed");
    const counts = countFileSystem(src);
    const first = await new Experiment(sb.ws, "scope").submit(pipelineOf(src, ["a.py", "b.py", "a.py"]));
    expect(counts).toEqual({ interpreterReads: 1, folderWalks: 1 });
    const view = await first.waitForCompletion();
    expect(view.steps.map((s) => [s.status, s.logTail])).toEqual([["completed", "a\n"], ["completed", "b\n"], ["completed", "a\n"]]);
    // Nothing is kept past the submit: the next one looks at the interpreter and the folder again.
    await (await new Experiment(sb.ws, "scope").submit(pipelineOf(src, ["a.py", "b.py"]))).waitForCompletion();
    expect(counts).toEqual({ interpreterReads: 2, folderWalks: 2 });
  });

  it("a shared snapshot still checks each step's own script and hashPaths", async () => {
    const src = join(sb.dir, "src");
    await sb.write("src/a.py", "print('a')\n");
    await sb.write("src/conf.txt", "1");
    await expect(new Experiment(sb.ws, "scope").submit(pipelineOf(src, ["a.py", "missing.py"]))).rejects.toThrow(/missing\.py/);
    const steps = [
      new PythonScriptStep({ name: "plain", scriptName: "a.py", sourceDirectory: src }),
      new PythonScriptStep({ name: "hashed", scriptName: "a.py", sourceDirectory: src, hashPaths: ["conf.txt"] }),
      new PythonScriptStep({ name: "gone", scriptName: "a.py", sourceDirectory: src, hashPaths: ["nowhere.txt"] }),
    ];
    await expect(new Experiment(sb.ws, "scope").submit(new Pipeline(sb.ws, { steps }))).rejects.toThrow(/nowhere\.txt/);
    const run = await new Experiment(sb.ws, "scope").submit(new Pipeline(sb.ws, { steps: steps.slice(0, 2) }));
    expect((await run.waitForCompletion()).status).toBe("completed");
  });
});
