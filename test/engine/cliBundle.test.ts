import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCli } from "../../engine/scripts/buildCli.mjs";
import { CLI, pipelineProject, REPO } from "./helpers.js";

const exec = promisify(execFile);

/** What a bin loaded by the time it exited, besides its output (see probe). */
interface Probe {
  stdout: string;
  stderr: string;
  code: number;
  /** Node's child_process: the separate files load it with commander, the bundles only when a command starts a process. */
  childProcess: boolean;
  /** Whether an ES module was loaded (a module job made): the separate files are ES modules, the bin and the bundles CommonJS. */
  esModules: boolean;
  /** better-sqlite3's own JavaScript files, required one by one (the inspect bundle holds them). */
  sqliteFiles: boolean;
}

let hookFile: string;
beforeAll(async () => {
  // A CommonJS file given to --require: an --import hook would start the ES module loader itself.
  hookFile = join(await mkdtemp(join(tmpdir(), "pipebook-cli-probe-")), "probe.cjs");
  await writeFile(
    hookFile,
    `process.on("exit", () => {
      const loaded = process.moduleLoadList;
      const files = Object.keys(require("node:module").createRequire(__filename).cache);
      process.stderr.write("@@probe " + JSON.stringify({
        childProcess: loaded.includes("NativeModule child_process"),
        esModules: loaded.includes("NativeModule internal/modules/esm/module_job"),
        sqliteFiles: files.some((f) => /better-sqlite3[\\/]lib[\\/]/.test(f)),
      }) + "\\n");
    });\n`,
  );
});

/** Runs a pipebook bin in `cwd` and says, besides its output and exit code, what it loaded (Probe). */
async function probe(bin: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd: string = tmpdir()): Promise<Probe> {
  let r: { stdout: string; stderr: string; code: number };
  try {
    r = { ...(await exec(process.execPath, ["--require", hookFile, bin, ...args], { cwd, env: { ...process.env, ...env } })), code: 0 };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    r = { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
  const mark = /^@@probe (.*)$/m.exec(r.stderr);
  if (!mark) throw new Error(`no probe line in: ${r.stderr}`);
  return { ...r, stderr: r.stderr.replace(/^@@probe .*\n/m, ""), ...(JSON.parse(mark[1]!) as Pick<Probe, "childProcess" | "esModules" | "sqliteFiles">) };
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
    expect(separate.esModules).toBe(true);
    expect(bundled.esModules).toBe(false);
    // A group's own help comes from the bundle too.
    const group = await probe(CLI, ["schedule", "--help"]);
    expect(group.stdout).toBe((await probe(CLI, ["schedule", "--help"], { PIPEBOOK_CLI_BUNDLE: "0" })).stdout);
  });

  describe("runs, show, logs and why (dist/cli/inspect.bundle.cjs)", () => {
    let dir: string;
    let first: string;
    let second: string;
    beforeAll(async () => {
      dir = await pipelineProject("cli-bundle-inspect", {
        "two.ts": [
          `import { CommandStep, Pipeline, PipelineData, Workspace } from "pipebook";`,
          `const ws = await Workspace.fromConfig();`,
          `const word = new PipelineData("word");`,
          `export const pipeline = new Pipeline(ws, { steps: [`,
          `  new CommandStep({ name: "say", command: 'echo said; echo hello > "$PIPEBOOK_OUTPUT_WORD/w.txt"', outputs: [word] }),`,
          `  new CommandStep({ name: "hear", inputs: [word], command: 'cat "$PIPEBOOK_INPUT_WORD/w.txt"' }),`,
          `] });`,
        ].join("\n"),
      });
      const runId = async (): Promise<string> => /run (\S+) completed/.exec((await exec(process.execPath, [CLI, "run", "two.ts", "-q"], { cwd: dir })).stdout)![1]!;
      first = await runId();
      second = await runId();
    });
    afterAll(async () => rm(dir, { recursive: true, force: true }));

    it("answer as the separate files do, from the bundles alone: no ES module, no better-sqlite3 file of its own", async () => {
      const commands = [["runs"], ["runs", "-n", "1"], ["show", second], ["show", first.slice(0, 18)], ["logs", first], ["logs", second, "hear"], ["why", second, "say"], ["why", first, "hear"], ["why", "no-such-run", "say"], ["why", second, "no-such-step"]];
      for (const args of commands) {
        const bundled = await probe(CLI, args, {}, dir);
        const separate = await probe(CLI, args, { PIPEBOOK_CLI_BUNDLE: "0" }, dir);
        expect({ args, out: bundled.stdout, err: bundled.stderr, code: bundled.code }).toEqual({ args, out: separate.stdout, err: separate.stderr, code: separate.code });
        expect({ args, esm: bundled.esModules, sqlite: bundled.sqliteFiles, childProcess: bundled.childProcess }).toEqual({ args, esm: false, sqlite: false, childProcess: false });
        expect({ args, esm: separate.esModules, sqlite: separate.sqliteFiles }).toEqual({ args, esm: true, sqlite: true });
      }
      // What was compared is what these commands say.
      expect((await probe(CLI, ["runs"], {}, dir)).stdout).toMatch(new RegExp(`^${second}\\s+two\\s+completed\\s`, "m"));
      expect((await probe(CLI, ["logs", first, "hear"], {}, dir)).stdout).toBe("hello\n");
      expect((await probe(CLI, ["why", second, "say"], {}, dir)).stdout).toContain(`reused`);
      const unknown = await probe(CLI, ["why", "no-such-run", "say"], {}, dir);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/^pipebook: no run no-such-run in workspace /);
    });
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

    it("keeps the bundles when a build writes the same content again (a new mtime only)", async () => {
      expect((await probe(bin, ["--help"])).childProcess).toBe(false);
      const later = new Date(Date.now() + 60_000);
      await utimes(mainJs(), later, later);
      expect((await probe(bin, ["--help"])).childProcess).toBe(false);
      // The one process that hashed it wrote the new mtime down, so the next one does not hash it.
      const manifest = JSON.parse(await readFile(join(dir, "engine", "dist", "cli", "main.bundle.json"), "utf8")) as { inputs: Record<string, [number, number, string]> };
      expect(manifest.inputs["main.js"]![1]).toBe((await stat(mainJs())).mtimeMs);
      expect((await probe(bin, ["--help"])).childProcess).toBe(false);
    });
  });
});
