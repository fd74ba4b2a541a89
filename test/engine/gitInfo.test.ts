import { execFileSync } from "node:child_process";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandStep, Experiment, Pipeline, PipelineRun, Workspace } from "pipebook";
import { pathToFileURL } from "node:url";
import { pipebook, REPO, sandbox, type Sandbox } from "./helpers.js";

// The real git, reached through a wrapper first on PATH that logs each call: how many times a
// run asks git is counted, as "cached means zero runs" is in the reuse tests.
const realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
let shimDir: string;
let calls: string;
let savedPath: string | undefined;

async function gitCalls(): Promise<string[]> {
  return (await readFile(calls, "utf8").catch(() => "")).split("\n").filter(Boolean);
}

async function runOnce(ws: Workspace): Promise<string> {
  const run = await new Experiment(ws, "git").submit(new Pipeline(ws, { steps: [new CommandStep({ name: "noop", command: ["true"] })] }), { regenerateOutputs: true });
  expect((await run.waitForCompletion()).status).toBe("completed");
  // No waiting here: the facts are written before the run's end is (the CLI exits at the end).
  return run.id;
}

let sb: Sandbox;
beforeAll(async () => {
  sb = await sandbox();
  shimDir = join(sb.dir, "shim");
  calls = join(sb.dir, "git-calls.log");
  await mkdir(shimDir);
  // With GIT_SLOW set, git answers a second late: later than a trivial run takes.
  await writeFile(join(shimDir, "git"), `#!/bin/sh\necho "$*" >> ${calls}\n[ -n "$GIT_SLOW" ] && sleep 1\nexec ${realGit} "$@"\n`);
  await chmod(join(shimDir, "git"), 0o755);
  savedPath = process.env["PATH"];
  process.env["PATH"] = `${shimDir}:${savedPath}`;
});
afterAll(async () => {
  process.env["PATH"] = savedPath;
  await sb.close();
});

describe("git facts of a run", () => {
  it("outside a repository: none stored, and git is never started", async () => {
    // The sandbox lives under the system temp folder, which is in no repository.
    const id = await runOnce(sb.ws);
    expect(sb.ws.runs.getRun(id)!.git).toBeNull();
    expect(await gitCalls()).toEqual([]);
  });

  it("inside one: the full commit hash and the branch apart, the dirty flag, from one git process per run", async () => {
    const repo = join(sb.dir, "repo");
    await mkdir(repo);
    const git = (...args: string[]): string => execFileSync(realGit, ["-C", repo, "-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { encoding: "utf8" }).trim();
    git("init", "-q", "-b", "feature/x");
    await writeFile(join(repo, "README"), "hello\n");
    await writeFile(join(repo, ".gitignore"), ".pipebook/\n");
    git("add", "README", ".gitignore");
    git("commit", "-q", "-m", "first");
    const head = git("rev-parse", "HEAD");
    const ws = await Workspace.fromConfig({ path: repo });
    try {
      await rm(calls, { force: true });
      const clean = ws.runs.getRun(await runOnce(ws))!;
      expect(clean.git).toEqual({ repo: git("rev-parse", "--show-toplevel"), branch: "feature/x", commit: head, dirty: false });
      expect(clean.git!.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(await gitCalls()).toHaveLength(1);

      // Past the memo window (a burst of submits shares one answer), a change is seen; a git
      // slower than the run delays the run's end, which is recorded with the facts.
      await new Promise((r) => setTimeout(r, 2100));
      await writeFile(join(repo, "README"), "changed\n");
      process.env["GIT_SLOW"] = "1";
      const dirty = ws.runs.getRun(await runOnce(ws).finally(() => delete process.env["GIT_SLOW"]))!;
      expect(dirty.git).toMatchObject({ branch: "feature/x", commit: head, dirty: true });
      expect(await gitCalls()).toHaveLength(2);

      // A published pipeline runs its snapshot: its runs carry the git facts of the run it was
      // published from, not of the tree the server (here: this folder, a commit later) is in.
      const published = await (await PipelineRun.get(ws, clean.id)).publishPipeline({ name: "FromClean" });
      git("commit", "-q", "-am", "second");
      const again = await published.submit("git-published");
      await again.waitForCompletion();
      expect(ws.runs.getRun(again.id)!.git).toEqual(clean.git);
      expect(git("rev-parse", "HEAD")).not.toBe(head);
    } finally {
      await ws.close();
    }
  });

  it("of `pipebook run` (asked as the process starts): one git process, stored with the run", async () => {
    const repo = join(sb.dir, "cli-repo");
    await mkdir(repo);
    const git = (...args: string[]): string => execFileSync(realGit, ["-C", repo, "-c", "user.email=t@example.com", "-c", "user.name=t", ...args], { encoding: "utf8" }).trim();
    git("init", "-q", "-b", "main");
    await writeFile(join(repo, ".gitignore"), ".pipebook/\n");
    await writeFile(join(repo, "pipebook.json"), JSON.stringify({ name: "git-cli" }));
    const index = pathToFileURL(join(REPO, "engine", "dist", "index.js")).href;
    await writeFile(join(repo, "p.mjs"), [
      `import { CommandStep, Pipeline, Workspace } from ${JSON.stringify(index)};`,
      'export const pipeline = new Pipeline(await Workspace.fromConfig(), { steps: [new CommandStep({ name: "noop", command: ["true"] })] });',
      "",
    ].join("\n"));
    git("add", ".");
    git("commit", "-q", "-m", "first");
    await rm(calls, { force: true });
    const r = await pipebook(repo, "run", "p.mjs", "-q");
    expect(r.code, r.stderr).toBe(0);
    const id = /submitted run (\S+)/.exec(r.stdout)![1]!;
    const ws = await Workspace.fromConfig({ path: repo });
    try {
      expect(ws.runs.getRun(id)!.git).toEqual({ repo: git("rev-parse", "--show-toplevel"), branch: "main", commit: git("rev-parse", "HEAD"), dirty: false });
      expect(await gitCalls()).toHaveLength(1);
    } finally {
      await ws.close();
    }
  });
});
