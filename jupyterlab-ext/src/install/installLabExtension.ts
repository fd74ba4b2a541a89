import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { tryLockFolder, unlockFolder } from "../../app/lockFolder.mjs";
import { unreachable } from "../unreachable.js";

/**
 * `pipebook lab install`: puts the prebuilt (federated) extension and, when given, the pipebook
 * kernelspec into a Jupyter data directory, the way `jupyter labextension develop/install` and
 * `jupyter kernelspec install` lay them out, so an existing JupyterLab 4 picks them up at its
 * next start. No Python package is involved: JupyterLab discovers
 * `<data>/labextensions/<name>/package.json` and `<data>/kernels/<name>/kernel.json` by path.
 */

export const EXTENSION_NAME = "@pipebook/jupyterlab-ext";

export interface KernelspecToInstall {
  readonly name: string;
  readonly argv: readonly string[];
  readonly displayName: string;
  readonly language: string;
  readonly env?: Readonly<Record<string, string>>;
}

export interface InstallOptions {
  /**
   * The Jupyter data directory to install into. Default: the first entry of `jupyter --paths`'s
   * data list (the user's, e.g. ~/.local/share/jupyter), else ~/.local/share/jupyter.
   */
  readonly dataDir?: string;
  /** Build the federated extension first even when one is present. */
  readonly rebuild?: boolean;
  readonly kernelspec?: KernelspecToInstall;
  /** The `jupyter` executable used to find the data directory. */
  readonly jupyter?: string;
}

export interface InstallResult {
  readonly dataDir: string;
  readonly labextensionDir: string;
  readonly kernelspecDir?: string;
}

export type InstallFailure =
  | { readonly reason: "build-failed"; readonly output: string }
  | { readonly reason: "not-built"; readonly path: string }
  | { readonly reason: "no-data-dir" };

export class InstallError extends Error {
  constructor(readonly failure: InstallFailure) {
    super(describe(failure));
    this.name = "InstallError";
  }
}

function describe(failure: InstallFailure): string {
  switch (failure.reason) {
    case "build-failed":
      return `Building the JupyterLab extension failed:\n${failure.output}`;
    case "not-built":
      return `The prebuilt JupyterLab extension is missing at ${failure.path}.`;
    case "no-data-dir":
      return "No Jupyter data directory could be found; pass one (--data-dir).";
    default:
      return unreachable(failure);
  }
}

/** The extension package's root (…/jupyterlab-ext), found from this compiled file in lib/install. */
export function packageRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
}

/** Builds the federated extension into `<package>/labextension` with @jupyter/builder (rspack). */
export function buildLabExtension(root = packageRoot()): string {
  const require = createRequire(path.join(root, "package.json"));
  const builder = require.resolve("@jupyter/builder/lib/build-labextension.js");
  const coreMeta = require.resolve("@jupyterlab/core-meta/core.package.json");
  return withLock(path.join(root, ".labextension-lock"), () => {
    const result = spawnSync(process.execPath, [builder, "--core-package-file", coreMeta, root], { cwd: root, encoding: "utf8" });
    if (result.status !== 0) {
      throw new InstallError({ reason: "build-failed", output: `${result.stdout}\n${result.stderr}`.trim() });
    }
    return path.join(root, "labextension");
  });
}

/**
 * The builder empties `labextension/static` before it writes the new chunks, so two builds (or a
 * build and a copy) at once leave an empty extension behind: one process at a time.
 */
function withLock<T>(lock: string, work: () => T, staleMs = 5 * 60_000): T {
  const deadline = Date.now() + staleMs;
  // Past the deadline the lock is taken over whoever holds it (staleness 0).
  while (!tryLockFolder(lock, Date.now() > deadline ? 0 : staleMs)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  try {
    return work();
  } finally {
    unlockFolder(lock);
  }
}

/** The remote entry a built extension's package.json points at, when that file is really there. */
export function builtEntry(dir: string): string | undefined {
  try {
    const manifest = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { jupyterlab?: { _build?: { load?: string } } };
    const load = manifest.jupyterlab?._build?.load;
    return load !== undefined && existsSync(path.join(dir, load)) ? load : undefined;
  } catch {
    return undefined;
  }
}

export function defaultDataDir(jupyter = "jupyter"): string | undefined {
  const result = spawnSync(jupyter, ["--paths", "--json"], { encoding: "utf8" });
  if (result.status === 0) {
    try {
      const paths = JSON.parse(result.stdout) as { data?: string[] };
      if (paths.data?.[0] !== undefined) {
        return paths.data[0];
      }
    } catch {
      // fall through to the conventional location
    }
  }
  const home = process.env["HOME"];
  return home === undefined ? undefined : path.join(home, ".local", "share", "jupyter");
}

export function installLabExtension(options: InstallOptions = {}): InstallResult {
  const root = packageRoot();
  const built = path.join(root, "labextension");
  // An incomplete build (package.json without its remote entry) is rebuilt, not installed.
  if (options.rebuild === true || builtEntry(built) === undefined) {
    buildLabExtension(root);
  }
  if (builtEntry(built) === undefined) {
    throw new InstallError({ reason: "not-built", path: built });
  }
  const dataDir = options.dataDir ?? defaultDataDir(options.jupyter);
  if (dataDir === undefined) {
    throw new InstallError({ reason: "no-data-dir" });
  }
  const target = path.join(dataDir, "labextensions", ...EXTENSION_NAME.split("/"));
  // Replace, never merge: hashed chunk names change between builds.
  rmSync(target, { recursive: true, force: true });
  mkdirSync(path.dirname(target), { recursive: true });
  cpSync(built, target, { recursive: true });
  if (builtEntry(target) === undefined) {
    throw new InstallError({ reason: "not-built", path: target });
  }
  const version = (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { version: string }).version;
  writeFileSync(
    path.join(target, "install.json"),
    JSON.stringify({ packageManager: "npm", packageName: EXTENSION_NAME, version, uninstallInstructions: "Run `npx pipebook lab uninstall`" }, null, 2) + "\n",
  );
  if (options.kernelspec === undefined) {
    return { dataDir, labextensionDir: target };
  }
  const spec = options.kernelspec;
  const kernelDir = path.join(dataDir, "kernels", spec.name);
  mkdirSync(kernelDir, { recursive: true });
  writeFileSync(
    path.join(kernelDir, "kernel.json"),
    JSON.stringify({ argv: spec.argv, display_name: spec.displayName, language: spec.language, interrupt_mode: "message", env: spec.env ?? {} }, null, 2) + "\n",
  );
  return { dataDir, labextensionDir: target, kernelspecDir: kernelDir };
}

/** Removes what installLabExtension put into `dataDir` (the kernelspec only when named). */
export function uninstallLabExtension(options: { dataDir?: string; kernelName?: string; jupyter?: string } = {}): string[] {
  const dataDir = options.dataDir ?? defaultDataDir(options.jupyter);
  if (dataDir === undefined) {
    throw new InstallError({ reason: "no-data-dir" });
  }
  const removed = [path.join(dataDir, "labextensions", ...EXTENSION_NAME.split("/"))];
  if (options.kernelName !== undefined) {
    removed.push(path.join(dataDir, "kernels", options.kernelName));
  }
  const existing = removed.filter((p) => existsSync(p));
  existing.forEach((p) => rmSync(p, { recursive: true, force: true }));
  return existing;
}
