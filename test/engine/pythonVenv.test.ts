// Real venvs and real pip installs from local wheels (no PyPI here): nothing is mocked.
import { execFile, spawn } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWheels } from "../support/wheels.js";
import { REPO, sandbox } from "./helpers.js";
import { ensurePythonVenv, type PythonVenv, type PythonVenvOptions } from "../../engine/dist/compute/environments/pythonVenv.js";

const exec = promisify(execFile);
/** Debian's Python has venv + ensurepip; the pyenv `python3` on PATH here can make venvs too. */
const PYTHON = "/usr/bin/python3";
/** One venv build takes 6-11 s on these 2-core machines; more while other suites run. */
const BUILD_TIMEOUT = 90_000;
const MODULE = pathToFileURL(join(REPO, "engine", "dist", "compute", "environments", "pythonVenv.js")).href;

let tmp: string;
/** Wheels of pbdemo 1.2.3 and 2.0.0, built once; tests copy the ones they need into their own folders. */
let wheels: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "pipebook-venv-"));
  wheels = await buildWheels(join(tmp, "wheels"), [
    { name: "pbdemo", version: "1.2.3" },
    { name: "pbdemo", version: "2.0.0" },
  ]);
});
afterAll(async () => rm(tmp, { recursive: true, force: true }));

/** A find-links folder holding only the given pbdemo versions. */
async function findLinks(name: string, versions: readonly string[]): Promise<string> {
  const dir = join(tmp, name);
  await mkdir(dir, { recursive: true });
  for (const v of versions) await copyFile(join(wheels, `pbdemo-${v}-py3-none-any.whl`), join(dir, `pbdemo-${v}-py3-none-any.whl`));
  return dir;
}

function options(root: string, pipPackages: string[], folders: string[], more: Partial<PythonVenvOptions> = {}): PythonVenvOptions {
  return { root, interpreter: PYTHON, pipPackages, packageSource: { findLinks: folders }, stepName: "train", targetName: "local", ...more };
}

async function pbdemoVersion(venv: PythonVenv): Promise<string> {
  const { stdout } = await exec(venv.python, ["-c", "import pbdemo, sys; print(pbdemo.__version__); print(sys.prefix)"]);
  const [version, prefix] = stdout.trim().split("\n");
  expect(prefix).toBe(venv.env["VIRTUAL_ENV"]);
  return version ?? "";
}

/** What a venv root holds besides the interpreter cache: one folder per environment. */
async function environments(root: string): Promise<string[]> {
  return (await readdir(root).catch(() => [])).filter((n) => n !== "interpreters.json");
}

/** Runs ensurePythonVenv in another Node process; it prints the result and its own duration. */
function child(opts: PythonVenvOptions): { done: Promise<{ built: boolean; python: string; ms: number }>; pid: number } {
  const code = `
    const { ensurePythonVenv } = await import(${JSON.stringify(MODULE)});
    const t = performance.now();
    const v = await ensurePythonVenv(JSON.parse(process.argv[1]));
    console.log(JSON.stringify({ built: v.built, python: v.python, ms: performance.now() - t }));`;
  const p = spawn(process.execPath, ["--input-type=module", "-e", code, JSON.stringify(opts)], { stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  let err = "";
  p.stdout.on("data", (d: Buffer) => (out += d.toString()));
  p.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ built: boolean; python: string; ms: number }>((resolve, reject) => {
    p.on("close", (code) => (code === 0 ? resolve(JSON.parse(out) as { built: boolean; python: string; ms: number }) : reject(new Error(`child exited ${code}: ${err}`))));
  });
  return { done, pid: p.pid ?? 0 };
}

describe("ensurePythonVenv", () => {
  it("builds a venv with the pinned package once, and reuses it without a process", async () => {
    const root = join(tmp, "envs-reuse");
    const folder = await findLinks("links-reuse", ["1.2.3"]);
    const lines: string[] = [];
    const first = await ensurePythonVenv(options(root, ["pbdemo==1.2.3"], [folder], { progress: (l) => lines.push(l) }));
    expect(first.built).toBe(true);
    expect(first.python.startsWith(root)).toBe(true);
    expect(await pbdemoVersion(first)).toBe("1.2.3");
    expect(first.installed).toContain("pbdemo==1.2.3");
    expect(first.key).toMatchObject({ interpreter: PYTHON, version: first.version, pipPackages: ["pbdemo==1.2.3"] });
    expect(JSON.stringify(first.key)).not.toContain(folder); // the folder enters by content, not path
    expect(lines[0]).toMatch(/^building environment [0-9a-f]{12}: Python 3\.\d+\.\d+ with pbdemo==1\.2\.3 from /);
    expect(lines).toContain("Successfully installed pbdemo-1.2.3");

    const t = performance.now();
    const again = await ensurePythonVenv(options(root, ["pbdemo==1.2.3"], [folder]));
    const ms = performance.now() - t;
    expect(again).toEqual({ ...first, built: false });
    expect(ms).toBeLessThan(50);

    // A fresh process (a new CLI run) reuses it too, without running the interpreter.
    const fresh = await child(options(root, ["pbdemo==1.2.3"], [folder])).done;
    expect(fresh).toMatchObject({ built: false, python: first.python });
    expect(fresh.ms).toBeLessThan(50);

    // The workspace's stat cache gives the same key as the per-process one.
    const sb = await sandbox();
    try {
      const viaWorkspace = await ensurePythonVenv(options(root, ["pbdemo==1.2.3"], [folder], { hasher: { cache: sb.ws.statCache, pool: sb.ws.hashPool } }));
      expect(viaWorkspace).toEqual({ ...first, built: false });
    } finally {
      await sb.close();
    }
  }, BUILD_TIMEOUT);

  it("gives another version its own venv, and a changed find-links folder another key", async () => {
    const root = join(tmp, "envs-versions");
    const folder = await findLinks("links-versions", ["1.2.3"]);
    const both = await findLinks("links-both", ["1.2.3", "2.0.0"]);
    const v1 = await ensurePythonVenv(options(root, ["pbdemo==1.2.3"], [folder]));
    const v2 = await ensurePythonVenv(options(root, ["pbdemo==2.0.0"], [both]));
    expect(v2.built).toBe(true);
    expect(v2.python).not.toBe(v1.python);
    expect(await pbdemoVersion(v2)).toBe("2.0.0");
    expect(await pbdemoVersion(v1)).toBe("1.2.3");

    // Same requirement, same folder path, new wheel in it: pip could now pick other code.
    await copyFile(join(wheels, "pbdemo-2.0.0-py3-none-any.whl"), join(folder, "pbdemo-2.0.0-py3-none-any.whl"));
    const v1b = await ensurePythonVenv(options(root, ["pbdemo==1.2.3"], [folder]));
    expect(v1b.key["findLinks"]).not.toEqual(v1.key["findLinks"]);
    expect(v1b.built).toBe(true);
    expect(v1b.python).not.toBe(v1.python);
    expect(await environments(root)).toHaveLength(3);
  }, 3 * BUILD_TIMEOUT);

  it("fails with a sentence naming the step, the target and what is missing, and leaves no venv", async () => {
    const root = join(tmp, "envs-fail");
    const folder = await findLinks("links-fail", ["1.2.3"]);
    await expect(ensurePythonVenv(options(root, ["pbdemo==9.9"], [folder]))).rejects.toMatchObject({
      name: "ComputeError",
      code: "compute-unavailable",
      message: `step "train": compute target "local" cannot build its Python environment: pip found no version of pbdemo==9.9 in ${folder} (No matching distribution found for pbdemo==9.9)`,
    });
    expect(await environments(root)).toEqual([]);

    await expect(ensurePythonVenv(options(root, ["pbdemo==1.2.3"], [folder], { interpreter: "python-that-is-not-here" }))).rejects.toMatchObject({
      code: "compute-unavailable",
      message: `step "train": compute target "local" cannot build its Python environment: the Python interpreter "python-that-is-not-here" cannot be run (spawn python-that-is-not-here ENOENT)`,
    });
    const gone = join(tmp, "no-such-wheels");
    await expect(ensurePythonVenv(options(root, ["pbdemo==1.2.3"], [gone]))).rejects.toMatchObject({
      code: "compute-unavailable",
      message: `step "train": compute target "local" cannot build its Python environment: its find-links folder ${gone} does not exist`,
    });
    expect(await environments(root)).toEqual([]);
  }, BUILD_TIMEOUT);

  it("says why a Python that cannot make a virtual environment refused, and leaves no venv", async () => {
    // A Python without ensurepip (Debian's without python3-venv): it answers the version probe,
    // and `-m venv` fails the way such a Python does.
    const fake = join(tmp, "python-without-venv");
    await writeFile(
      fake,
      [
        "#!/bin/sh",
        'if [ "$1" = "-c" ]; then echo "$0"; echo "3.11.9"; exit 0; fi',
        'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then',
        "  echo 'The virtual environment was not created successfully because ensurepip is not' >&2",
        "  echo 'available.  On Debian/Ubuntu systems, you need to install the python3-venv package' >&2",
        "  exit 1",
        "fi",
        "exit 2",
      ].join("\n") + "\n",
      { mode: 0o755 },
    );
    const root = join(tmp, "envs-no-venv");
    await expect(ensurePythonVenv(options(root, [], [], { interpreter: fake }))).rejects.toMatchObject({
      code: "compute-unavailable",
      failure: { reason: "environment-unbuildable", problem: { kind: "venv-refused", cause: { kind: "ensurepip-missing" } } },
      message: `step "train": compute target "local" cannot build its Python environment: ${fake} (Python 3.11.9) cannot create a virtual environment (ensurepip is not available: on Debian/Ubuntu install python3-venv)`,
    });
    expect(await environments(root)).toEqual([]);
  }, BUILD_TIMEOUT);

  it("builds once for concurrent calls, in this process and in others", async () => {
    const root = join(tmp, "envs-concurrent");
    const folder = await findLinks("links-concurrent", ["2.0.0"]);
    const opts = options(root, ["pbdemo==2.0.0"], [folder]);
    const others = [child(opts), child(opts)];
    const results = await Promise.all([ensurePythonVenv(opts), ensurePythonVenv(opts), ensurePythonVenv(opts), ...others.map((o) => o.done)]);
    expect(results.filter((r) => r.built)).toHaveLength(1);
    expect(new Set(results.map((r) => r.python)).size).toBe(1);
    const [envDir = ""] = await environments(root);
    // One venv, its manifest, and no lock or abandoned copy.
    expect((await readdir(join(root, envDir))).sort()).toEqual([results[0]!.python.split("/").at(-3), "venv.json"].sort());
  }, 2 * BUILD_TIMEOUT);

  it("never uses a build that was killed, and replaces it", async () => {
    const root = join(tmp, "envs-killed");
    const folder = await findLinks("links-killed", ["1.2.3"]);
    const opts = options(root, ["pbdemo==1.2.3"], [folder]);
    const doomed = child(opts);
    doomed.done.catch(() => undefined);
    // Wait until the venv is being made, then kill the whole process group (node, python, pip).
    let partial: string | undefined;
    for (let i = 0; i < 300 && !partial; i++) {
      await new Promise((r) => setTimeout(r, 50));
      const [envDir] = await environments(root);
      const inside = envDir ? await readdir(join(root, envDir)).catch(() => []) : [];
      if (inside.some((n) => n.startsWith("venv-"))) partial = join(root, envDir ?? "");
    }
    expect(partial).toBeDefined();
    process.kill(-doomed.pid, "SIGKILL");
    await doomed.done.catch(() => undefined);
    expect(await readdir(partial!)).not.toContain("venv.json");

    const venv = await ensurePythonVenv(opts);
    expect(venv.built).toBe(true);
    expect(await pbdemoVersion(venv)).toBe("1.2.3");
    const left = await readdir(partial!);
    expect(left.sort()).toEqual([venv.python.split("/").at(-3), "venv.json"].sort());
    expect((await stat(venv.python)).isFile()).toBe(true);
  }, 2 * BUILD_TIMEOUT);
});
