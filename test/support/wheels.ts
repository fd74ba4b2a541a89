// Real wheels without PyPI: tiny pure-Python packages built offline with Debian's pip/setuptools.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);
/** Debian's Python: the `python3` on PATH here is a pyenv build without pip's Debian setup. */
const PYTHON = "/usr/bin/python3";

interface Wheel {
  file: string;
  bytes: Buffer;
}
/** Kept in memory (a few KB each): a scratch folder would outlive test workers, which are killed. */
const built = new Map<string, Promise<Wheel>>();

/**
 * Builds `<name>-<version>-py3-none-any.whl` into `dir` for each package: a module `<name>` with
 * `__version__ == version` and `VERSION = version`. Returns `dir`, ready for
 * `pip install --no-index --find-links dir name==version`.
 */
export async function buildWheels(dir: string, pkgs: readonly { name: string; version: string }[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  const wheels = await Promise.all(pkgs.map((p) => wheel(p.name, p.version)));
  await Promise.all(wheels.map((w) => writeFile(join(dir, w.file), w.bytes)));
  return dir;
}

/** One build per (name, version) per process: each costs a Python start and a setuptools run. */
function wheel(name: string, version: string): Promise<Wheel> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`buildWheels: ${JSON.stringify(name)} is not a Python module name`);
  const key = `${name}==${version}`;
  let w = built.get(key);
  if (!w) {
    w = buildOne(name, version);
    built.set(key, w);
    w.catch(() => built.delete(key));
  }
  return w;
}

async function buildOne(name: string, version: string): Promise<Wheel> {
  const base = await mkdtemp(join(tmpdir(), `pipebook-wheel-${name}-`));
  try {
    const src = join(base, "src");
    const out = join(base, "out");
    await mkdir(src);
    await writeFile(join(src, "pyproject.toml"), [
      "[build-system]",
      'requires = ["setuptools"]',
      'build-backend = "setuptools.build_meta"',
      "[project]",
      `name = ${JSON.stringify(name)}`,
      `version = ${JSON.stringify(version)}`,
      "[tool.setuptools]",
      `py-modules = [${JSON.stringify(name)}]`,
      "",
    ].join("\n"));
    await writeFile(join(src, `${name}.py`), `VERSION = ${JSON.stringify(version)}\n__version__ = VERSION\n`);
    try {
      await exec(PYTHON, ["-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", out, src], {
        env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1", PYTHONDONTWRITEBYTECODE: "1" },
      });
    } catch (e) {
      const { stderr, message } = e as { stderr?: string; message: string };
      throw new Error(`building a wheel for ${name}==${version} failed: ${stderr?.trim() || message}`);
    }
    const files = (await readdir(out)).filter((f) => f.endsWith(".whl"));
    if (files.length !== 1 || !files[0]) throw new Error(`pip wheel for ${name}==${version} left ${JSON.stringify(files)} in ${out}`);
    return { file: files[0], bytes: await readFile(join(out, files[0])) };
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}
