import { execFile } from "node:child_process";
import { mkdtemp, mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Workspace } from "pipebook";
import { stepCgroups } from "../../engine/src/compute/cgroups.js";

export const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI = join(REPO, "engine", "bin", "pipebook.js");

const exec = promisify(execFile);

/** Runs the `pipebook` CLI in `cwd`; resolves with its exit code and output whatever the code. */
export async function pipebook(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], { cwd, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * Runs the CLI once in `cwd` and says what it loaded: which of the engine's files V8 compiled
 * (its coverage lists every script, as paths under engine/dist/) and which of Node's own modules
 * loaded (a preload writes process.moduleLoadList at exit, "NativeModule fs" and so on).
 */
export async function whatItLoads(cwd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<{ stdout: string; scripts: Set<string>; builtins: string[] }> {
  const out = await mkdtemp(join(tmpdir(), "pipebook-loaded-"));
  try {
    const preload = join(out, "builtins.cjs");
    await writeFile(preload, `process.on("exit", () => require("fs").writeFileSync(${JSON.stringify(join(out, "builtins.json"))}, JSON.stringify(process.moduleLoadList)));\n`);
    const coverage = join(out, "coverage");
    const { stdout } = await exec(process.execPath, [CLI, ...args], { cwd, env: { ...env, NODE_V8_COVERAGE: coverage, NODE_OPTIONS: `--require ${preload}` } });
    const scripts = new Set<string>();
    for (const f of await readdir(coverage)) {
      for (const { url } of (JSON.parse(await readFile(join(coverage, f), "utf8")) as { result: { url: string }[] }).result) {
        const m = /\/engine\/dist\/(.+)$/.exec(url);
        if (m) scripts.add(m[1]!);
      }
    }
    return { stdout, scripts, builtins: JSON.parse(await readFile(join(out, "builtins.json"), "utf8")) as string[] };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

/**
 * A temp project a user would run `pipebook run` in: `pipebook` resolves to this checkout's
 * engine, and `files` (relative path → content) are written, a pipebook.json naming the
 * workspace among them unless given. Remove it with `rm(dir, { recursive: true })`.
 */
export async function pipelineProject(name: string, files: Readonly<Record<string, string>>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `pipebook-${name}-`));
  await mkdir(join(dir, "node_modules"));
  await symlink(join(REPO, "engine"), join(dir, "node_modules", "pipebook"), "dir");
  const all = { "package.json": JSON.stringify({ type: "module", private: true }), "pipebook.json": JSON.stringify({ name }), ...files };
  for (const [rel, content] of Object.entries(all)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), content);
  }
  return dir;
}

/**
 * The cgroup versions (of v2 and v1) that steps can use on this machine, PIPEBOOK_CGROUP picking
 * each: tests run a case per version, and a version the machine lacks is named and skipped.
 */
export function usableCgroupVersions(): ("v2" | "v1")[] {
  return (["v2", "v1"] as const).filter((v) => {
    process.env["PIPEBOOK_CGROUP"] = v;
    const usable = !("problem" in stepCgroups());
    if (!usable) console.warn(`cgroup ${v} is not usable here (${JSON.stringify(stepCgroups())}): its cases are skipped`);
    delete process.env["PIPEBOOK_CGROUP"];
    return usable;
  });
}

/** A temp project folder with its own embedded workspace, removed after the test. */
export interface Sandbox {
  readonly dir: string;
  readonly ws: Workspace;
  write(rel: string, content: string): Promise<string>;
  /** Puts `content` at `rel` on the workspace's default datastore (written here first, then uploaded, replacing). */
  upload(rel: string, content: string): Promise<void>;
  /** How many times a step ran: each run of a counted step appends one line. */
  count(name: string): Promise<number>;
  /** A shell snippet that records one execution of `name`. */
  counter(name: string): string;
  close(): Promise<void>;
}

export async function sandbox(): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), "pipebook-test-"));
  const ws = await Workspace.fromConfig({ path: dir });
  const counters = join(dir, "counters");
  await mkdir(counters);
  const write = async (rel: string, content: string): Promise<string> => {
    const path = join(dir, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
    return path;
  };
  return {
    dir,
    ws,
    write,
    async upload(rel, content) {
      const local = await write(`upload/${rel}`, content);
      await ws.getDefaultDatastore().uploadFiles([local], { targetPath: rel.split("/").slice(0, -1).join("/"), overwrite: true });
    },
    async count(name) {
      const text = await readFile(join(counters, name), "utf8").catch(() => "");
      return text.split("\n").filter(Boolean).length;
    },
    counter(name) {
      return `echo ran >> ${join(counters, name)}`;
    },
    async close() {
      await ws.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Files whose mtime is less than a second old are not stat-cached; tests that edit files wait this long. */
export function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 10));
}
