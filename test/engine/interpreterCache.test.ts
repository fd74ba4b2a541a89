import { execFileSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveKnownInterpreter } from "../../engine/dist/compute/interpreterVersion.js";

// Real Pythons (this machine's python3, reached through links and a pyenv-shaped shim in a temp
// folder). That a remembered answer is used without starting Python is shown by tampering with
// the record: a version no Python has comes back only from the record.
const python = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();
const realVersion = execFileSync(python, ["-c", "import sys; print(sys.version.split()[0])"], { encoding: "utf8" }).trim();

let dir: string;
let bin: string;
let root: string;
let savedPath: string | undefined;
let savedCwd: string;

async function tamper(command: string): Promise<void> {
  const file = join(root, "interpreters.json");
  const record = JSON.parse(await readFile(file, "utf8")) as Record<string, { version: string }>;
  record[command]!.version = "0.0.0-remembered";
  await writeFile(file, JSON.stringify(record));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipebook-interp-"));
  bin = join(dir, "bin");
  root = join(dir, "envs");
  await mkdir(bin);
  savedPath = process.env["PATH"];
  process.env["PATH"] = `${bin}:${savedPath}`;
  savedCwd = process.cwd();
});
afterAll(async () => {
  process.env["PATH"] = savedPath;
  process.chdir(savedCwd);
  await rm(dir, { recursive: true, force: true });
});

describe("interpreters remembered across processes", () => {
  it("a binary: remembered, until another one answers to the name", async () => {
    await symlink(python, join(bin, "pb-python-binary"));
    const first = await resolveKnownInterpreter(root, "pb-python-binary");
    expect(first.version).toBe(realVersion);
    await tamper("pb-python-binary");
    expect((await resolveKnownInterpreter(root, "pb-python-binary")).version).toBe("0.0.0-remembered");
    // Another python earlier on PATH (an activated venv, say) is run, not taken from the record.
    const venvBin = join(dir, "venv-bin");
    await mkdir(venvBin);
    await symlink(python, join(venvBin, "pb-python-binary"));
    process.env["PATH"] = `${venvBin}:${process.env["PATH"]}`;
    const other = await resolveKnownInterpreter(root, "pb-python-binary");
    expect(other.version).toBe(realVersion);
    expect(other.path).toBe(join(venvBin, "pb-python-binary"));
  });

  it("a wrapper script of unknown kind: never remembered", async () => {
    await writeFile(join(bin, "pb-python-wrapper"), `#!/bin/sh\nexec ${python} "$@"\n`);
    await chmod(join(bin, "pb-python-wrapper"), 0o755);
    const first = await resolveKnownInterpreter(root, "pb-python-wrapper");
    expect(first.version).toBe(realVersion);
    expect(first.entry).toBeUndefined();
  });

  it("a pyenv shim: remembered per selection (.python-version, PYENV_VERSION), run again when it changes", async () => {
    // A pyenv-shaped root: the shim as pyenv writes it, a libexec/pyenv that picks a "version"
    // (a link to this machine's python3) from PYENV_VERSION, .python-version or $PYENV_ROOT/version.
    const pyenv = join(dir, "pyenv");
    await mkdir(join(pyenv, "shims"), { recursive: true });
    await mkdir(join(pyenv, "libexec"));
    for (const v of ["a", "b"]) {
      await mkdir(join(pyenv, "versions", v, "bin"), { recursive: true });
      await symlink(python, join(pyenv, "versions", v, "bin", "pb-python-shim"));
    }
    await writeFile(join(pyenv, "version"), "a\n");
    await writeFile(join(pyenv, "shims", "pb-python-shim"), [
      "#!/usr/bin/env bash", "set -e", 'program="${0##*/}"', "", `export PYENV_ROOT="${pyenv}"`, `exec "${pyenv}/libexec/pyenv" exec "$program" "$@"`, "",
    ].join("\n"));
    await writeFile(join(pyenv, "libexec", "pyenv"), [
      "#!/usr/bin/env bash", "shift; program=$1; shift", 'v="$PYENV_VERSION"', 'd="$PWD"',
      'while [ -z "$v" ] && [ "$d" != "/" ]; do [ -f "$d/.python-version" ] && v=$(cat "$d/.python-version"); d=$(dirname "$d"); done',
      '[ -z "$v" ] && v=$(cat "$PYENV_ROOT/version")', 'exec "$PYENV_ROOT/versions/$v/bin/$program" "$@"', "",
    ].join("\n"));
    await chmod(join(pyenv, "shims", "pb-python-shim"), 0o755);
    await chmod(join(pyenv, "libexec", "pyenv"), 0o755);
    process.env["PATH"] = `${join(pyenv, "shims")}:${process.env["PATH"]}`;
    const project = join(dir, "project");
    await mkdir(join(project, "sub"), { recursive: true });
    process.chdir(join(project, "sub"));

    const global = await resolveKnownInterpreter(root, "pb-python-shim");
    expect(global.path).toBe(join(pyenv, "versions", "a", "bin", "pb-python-shim"));
    await tamper("pb-python-shim");
    expect((await resolveKnownInterpreter(root, "pb-python-shim")).version).toBe("0.0.0-remembered");

    // A .python-version above the working folder picks another Python: not the remembered one.
    await writeFile(join(project, ".python-version"), "b\n");
    const local = await resolveKnownInterpreter(root, "pb-python-shim");
    expect(local.entry?.stamp).not.toBe(global.entry?.stamp);
    await tamper("pb-python-shim");
    expect((await resolveKnownInterpreter(root, "pb-python-shim")).version).toBe("0.0.0-remembered");
    process.env["PYENV_VERSION"] = "a";
    try {
      expect((await resolveKnownInterpreter(root, "pb-python-shim")).version).toBe(realVersion);
    } finally {
      delete process.env["PYENV_VERSION"];
    }
  });
});
