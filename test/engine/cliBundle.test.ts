import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli } from "../../engine/scripts/buildCli.mjs";
import { CLI, REPO } from "./helpers.js";

const exec = promisify(execFile);

/**
 * Runs a pipebook bin and says, besides its output, whether Node's child_process was loaded by
 * the time it exited: the separate files load it with commander, the bundle only when a command
 * starts a process. That is how these tests tell which of the two the bin ran.
 */
async function probe(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; childProcess: boolean }> {
  const hook = 'process.on("exit", () => process.stderr.write(`@@child_process ${process.moduleLoadList.includes("NativeModule child_process")}\\n`));';
  const r = await exec(process.execPath, ["--import", `data:text/javascript,${encodeURIComponent(hook)}`, bin, ...args], { cwd: tmpdir(), env: { ...process.env, ...env } });
  const mark = /@@child_process (true|false)/.exec(r.stderr);
  if (!mark) throw new Error(`no probe line in: ${r.stderr}`);
  return { stdout: r.stdout, childProcess: mark[1] === "true" };
}

describe("the CLI's bundled grammar (engine/scripts/buildCli.mjs)", () => {
  beforeAll(async () => {
    await buildCli();
  });

  it("answers --help as the separate files do, without loading child_process", async () => {
    const bundled = await probe(CLI, ["--help"]);
    const separate = await probe(CLI, ["--help"], { PIPEBOOK_CLI_BUNDLE: "0" });
    expect(bundled.stdout).toContain("Usage: pipebook");
    expect(bundled.stdout).toBe(separate.stdout);
    expect(separate.childProcess).toBe(true);
    expect(bundled.childProcess).toBe(false);
    // A group's own help comes from the bundle too.
    const group = await probe(CLI, ["schedule", "--help"]);
    expect(group.stdout).toBe((await probe(CLI, ["schedule", "--help"], { PIPEBOOK_CLI_BUNDLE: "0" })).stdout);
  });

  describe("in a copy of the engine", () => {
    let dir: string;
    let bin: string;
    const mainJs = (): string => join(dir, "engine", "dist", "cli", "main.js");
    beforeAll(async () => {
      // Its own bin, scripts and dist/cli; the rest of dist and node_modules are the checkout's.
      dir = await mkdtemp(join(tmpdir(), "pipebook-cli-bundle-"));
      const engine = join(dir, "engine");
      await mkdir(join(engine, "dist"), { recursive: true });
      await symlink(join(REPO, "node_modules"), join(dir, "node_modules"), "dir");
      await cp(join(REPO, "engine", "package.json"), join(engine, "package.json"));
      for (const sub of ["bin", "scripts"]) await cp(join(REPO, "engine", sub), join(engine, sub), { recursive: true });
      for (const entry of await readdir(join(REPO, "engine", "dist"))) {
        if (entry === "cli") await cp(join(REPO, "engine", "dist", "cli"), join(engine, "dist", "cli"), { recursive: true });
        else await symlink(join(REPO, "engine", "dist", entry), join(engine, "dist", entry));
      }
      bin = join(engine, "bin", "pipebook.js");
      await exec(process.execPath, [join(engine, "scripts", "buildCli.mjs")]);
    });
    afterAll(async () => rm(dir, { recursive: true, force: true }));

    it("runs dist/cli/main.js, not a stale bundle, after the grammar changes, and the bundle again once rebuilt", async () => {
      expect((await probe(bin, ["--help"])).childProcess).toBe(false);
      const source = await readFile(mainJs(), "utf8");
      const edited = source.replace("Build ML pipelines, rerun only what changed, see why.", "an edited description");
      expect(edited).not.toBe(source);
      await writeFile(mainJs(), edited);
      const stale = await probe(bin, ["--help"]);
      expect(stale.stdout).toContain("an edited description");
      expect(stale.childProcess).toBe(true);
      await exec(process.execPath, [join(dir, "engine", "scripts", "buildCli.mjs")]);
      const rebuilt = await probe(bin, ["--help"]);
      expect(rebuilt.stdout).toContain("an edited description");
      expect(rebuilt.childProcess).toBe(false);
    });
  });
});
