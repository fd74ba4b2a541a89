import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, realpathSync, statSync, type BigIntStats } from "node:fs";
import { link, mkdir, readdir, readFile, rm, rmdir, stat, unlink, utimes, writeFile } from "node:fs/promises";
import { devNull, hostname } from "node:os";
import { delimiter, join, resolve } from "node:path";
import type { PackageSource } from "../../dsl/Environment.js";
import { PipebookError } from "../../errors/PipebookError.js";
import { ComputeError, describeFindLinksChanged, describePackageSource, type EnvironmentProblem, type VenvRefusal } from "../ComputeFailure.js";
import { digestOfJson, type Digest } from "../../fingerprint/digest.js";
import { hashFile } from "../../fingerprint/hashFile.js";
import { hashTree, walk, type TreeHasherDeps } from "../../fingerprint/hashTree.js";
import { StatCache } from "../../store/StatCache.js";
import { rememberInterpreter, resolveKnownInterpreter, type InterpreterEntry } from "../interpreterVersion.js";

export interface PythonVenvOptions {
  /** Folder holding every venv of the workspace, e.g. <workspace>/envs */
  readonly root: string;
  /** Base interpreter command or path, e.g. "python3" or "/usr/bin/python3" */
  readonly interpreter: string;
  /** Requirement strings, sorted. */
  readonly pipPackages: readonly string[];
  readonly packageSource: PackageSource;
  /** Shows build progress (pip's lines, and "building environment …"). */
  readonly progress?: (line: string) => void;
  /** Only for error sentences. */
  readonly stepName: string;
  readonly targetName: string;
  /**
   * The workspace's stat cache and hash pool: with them, find-links folders of gigabytes of
   * wheels are re-read only when a file changed, across processes. Without them a per-process
   * cache is used (the first call in each process reads every wheel once).
   */
  readonly hasher?: TreeHasherDeps;
}

export interface PythonVenv {
  /** Absolute path of the venv's interpreter. */
  readonly python: string;
  /** Its Python version, e.g. "3.11.2". */
  readonly version: string;
  /**
   * What enters the step's reuse key: base interpreter (as named) and its version, packages, and
   * the package source by content (find-links folders by digest, not path; the index URL as text).
   */
  readonly key: Record<string, unknown>;
  /** The installed distributions (`pip freeze --all`), recorded for the user. */
  readonly installed: readonly string[];
  /** False when an existing venv was reused (or another call built it while this one waited). */
  readonly built: boolean;
  /** VIRTUAL_ENV, and PATH with the venv's scripts folder before this process's PATH. */
  readonly env: Record<string, string>;
}

/**
 * Written last, and published with an atomic link(): a venv folder without it is an unfinished
 * build and is never used. It lets a reuse cost one small file read instead of a process spawn.
 */
interface Manifest {
  readonly format: typeof FORMAT;
  /** Full environment hash: the folder name is a prefix of it. */
  readonly hash: string;
  /** The venv folder inside root/<hash>, named by its builder (host, pid) and never renamed. */
  readonly dir: string;
  readonly version: string;
  readonly installed: readonly string[];
}

interface LockOwner {
  readonly host: string;
  readonly pid: number;
  readonly nonce: string;
}

interface Plan {
  readonly options: PythonVenvOptions;
  readonly base: { readonly path: string; readonly version: string };
  /** Set when the interpreter was resolved by running it: remembered once the venv is ready. */
  readonly remember: { readonly command: string; readonly entry: InterpreterEntry } | undefined;
  readonly key: Record<string, unknown>;
  /** Digests of the find-links folders, in their order, as they were before the build. */
  readonly findLinks: readonly Digest[];
  readonly hash: Digest;
  /** root/<hash prefix>: the manifest, the build lock and the venv folder(s). */
  readonly dir: string;
}

const FORMAT = 1;
const MANIFEST = "venv.json";
const LOCK = "building.lock";
/** A build touches its lock this often; a lock untouched for STALE_MS belongs to a dead build. */
const HEARTBEAT_MS = 5_000;
const STALE_MS = 60_000;
const POLL_MS = 200;
const HOST = hostname().replace(/[^A-Za-z0-9.]/g, "_");
const BUILD_DIR = /^venv-(.+)-(\d+)-[0-9a-f]+$/;
const IS_WINDOWS = process.platform === "win32";

/** One build per environment per process: concurrent calls join it instead of racing it. */
const inFlight = new Map<string, Promise<PythonVenv>>();
/** Per-process stand-in for the workspace stat cache when the caller passes no hasher. */
const memoryStatCache = new Map<string, { stamp: string; digest: Digest }>();

/** Thrown when a find-links folder changed during a build: the venv may not match its key. */
class SourceChanged extends Error {
  constructor(readonly folder: string) {
    super(describeFindLinksChanged(folder));
  }
}

/**
 * Returns a virtual environment holding exactly `pipPackages` from `packageSource`, built once
 * per environment content under `root/<hash>` and reused after.
 *
 * Correctness does not depend on locking: every build goes into its own folder that is never
 * renamed (a venv hardcodes its path in scripts and compiled files), and is published by
 * link()ing its manifest into place, which fails for all but the first. A pid + heartbeat lock
 * only keeps a second process from doing the same work twice; a killed build leaves a folder
 * without a manifest, which is never used and is removed by the next build.
 */
export async function ensurePythonVenv(options: PythonVenvOptions): Promise<PythonVenv> {
  for (let attempt = 1; ; attempt++) {
    const plan = await planVenv(options);
    const reused = readManifest(plan);
    if (reused) return await remembered(plan, reused);
    let build = inFlight.get(plan.dir);
    const joined = build !== undefined;
    if (!build) {
      build = buildOrWait(plan).finally(() => inFlight.delete(plan.dir));
      inFlight.set(plan.dir, build);
    } else {
      options.progress?.(`waiting for environment ${plan.hash.slice(0, 12)}, which another step is building`);
    }
    try {
      const venv = await build;
      return await remembered(plan, joined ? { ...venv, built: false } : venv);
    } catch (err) {
      if (err instanceof PipebookError) throw err;
      // A filesystem error (no space, no permission) is the environment's; anything else is a bug.
      if (!(err instanceof SourceChanged) && typeof (err as NodeJS.ErrnoException).code === "string") {
        throw fail(options, { kind: "folder-unwritable", dir: plan.dir, message: (err as Error).message }, err);
      }
      if (!(err instanceof SourceChanged)) throw err;
      if (attempt >= 3) throw fail(options, { kind: "find-links-changed", folder: err.folder });
      options.progress?.(`${err.message}; building again`);
    }
  }
}

/** Resolves the interpreter and hashes the package source: what names the environment. */
async function planVenv(options: PythonVenvOptions): Promise<Plan> {
  let base: { path: string; version: string };
  let remember: Plan["remember"];
  try {
    const found = await resolveKnownInterpreter(options.root, options.interpreter, { remember: false });
    base = { path: found.path, version: found.version };
    if (found.entry) remember = { command: options.interpreter, entry: found.entry };
  } catch (err) {
    const message = err instanceof ComputeError && err.failure.reason === "interpreter-unrunnable" ? err.failure.message : (err as Error).message;
    throw fail(options, { kind: "interpreter-unrunnable", interpreter: options.interpreter, message }, err);
  }
  const findLinks = await hashFindLinks(options);
  const { indexUrl } = options.packageSource;
  const key: Record<string, unknown> = {
    /** As named, like a package-less Python step's key: another name can resolve to another Python elsewhere. */
    interpreter: options.interpreter,
    version: base.version,
    pipPackages: [...options.pipPackages],
    /** Content digests in the order given: the same wheels in another folder are the same environment. */
    findLinks,
    ...(indexUrl !== undefined && { indexUrl }),
  };
  // The folder also depends on the resolved path: two Pythons of one version are two venvs.
  const hash = digestOfJson({ format: FORMAT, key, basePath: base.path });
  return { options, base, remember, key, findLinks, hash, dir: join(options.root, hash.slice(0, 24)) };
}

/**
 * Records how the interpreter resolved, only once a venv is ready (a failed build leaves the
 * root as it was). Concurrent writers may drop each other's entry: that only costs a spawn.
 */
async function remembered(plan: Plan, venv: PythonVenv): Promise<PythonVenv> {
  if (plan.remember) await rememberInterpreter(plan.options.root, plan.remember.command, plan.remember.entry);
  return venv;
}

async function hashFindLinks(options: PythonVenvOptions): Promise<Digest[]> {
  const out: Digest[] = [];
  for (const folder of options.packageSource.findLinks) {
    const st = await stat(folder).catch(() => undefined);
    if (!st?.isDirectory()) throw fail(options, { kind: "find-links-missing", folder });
    out.push(options.hasher ? (await hashTree(folder, options.hasher)).digest : await hashFolderInMemory(folder));
  }
  return out;
}

/** hashTree's folder digest (same input, same value), cached per process by file stamp. */
async function hashFolderInMemory(folder: string): Promise<Digest> {
  const files: [string, Digest][] = [];
  for (const e of await walk(folder)) {
    const stamp = StatCache.stamp(e.st);
    let digest = memoryStatCache.get(e.abs)?.stamp === stamp ? memoryStatCache.get(e.abs)?.digest : undefined;
    if (!digest) {
      digest = await hashFile(e.abs);
      // As StatCache: a file written in the last second may change again within one timestamp tick.
      if (!recentlyModified(e.st)) memoryStatCache.set(e.abs, { stamp, digest });
    }
    files.push([e.rel, digest]);
  }
  files.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return digestOfJson({ kind: "dir", files });
}

function recentlyModified(st: BigIntStats): boolean {
  return BigInt(Date.now()) * 1_000_000n - st.mtimeNs < 1_000_000_000n;
}

/** The fast path: no process, one small read and one stat. */
function readManifest(plan: Plan): PythonVenv | undefined {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(plan.dir, MANIFEST), "utf8")) as Manifest;
  } catch {
    return undefined;
  }
  if (manifest.format !== FORMAT || manifest.hash !== plan.hash || !BUILD_DIR.test(manifest.dir)) return undefined;
  const venvDir = join(plan.dir, manifest.dir);
  const python = venvPython(venvDir);
  // A deleted venv (or a removed base interpreter its python links to) is rebuilt, not run.
  if (!statSync(python, { throwIfNoEntry: false })?.isFile()) return undefined;
  return { python, version: manifest.version, key: plan.key, installed: manifest.installed, built: false, env: venvEnv(venvDir) };
}

/** Takes the build lock, or waits while a live build elsewhere holds it. */
async function buildOrWait(plan: Plan): Promise<PythonVenv> {
  const owner: LockOwner = { host: HOST, pid: process.pid, nonce: randomBytes(8).toString("hex") };
  let announced = false;
  for (;;) {
    const done = readManifest(plan);
    if (done) return done;
    const held = await tryLock(plan.dir, owner);
    if (held === "ours") {
      const heartbeat = setInterval(() => void utimes(join(plan.dir, LOCK), new Date(), new Date()).catch(() => undefined), HEARTBEAT_MS);
      heartbeat.unref();
      try {
        return readManifest(plan) ?? (await build(plan));
      } finally {
        clearInterval(heartbeat);
        await unlockIfOurs(plan.dir, owner);
        // Leaves root clean after a failure; refuses (ENOTEMPTY) when the venv or another builder is there.
        await rmdir(plan.dir).catch(() => undefined);
      }
    }
    if (held === "retry") continue;
    if (held === "stale") {
      // Two waiters may both break it and both build: slower, never wrong (see ensurePythonVenv).
      await unlink(join(plan.dir, LOCK)).catch(() => undefined);
      continue;
    }
    if (!announced) plan.options.progress?.(`waiting for environment ${plan.hash.slice(0, 12)}, which another process is building`);
    announced = true;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Creates the lock with its full content at once (link of a written file), or judges its holder. */
async function tryLock(dir: string, owner: LockOwner): Promise<"ours" | "live" | "stale" | "retry"> {
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `${LOCK}.${owner.nonce}`);
  try {
    await writeFile(tmp, JSON.stringify(owner));
    await link(tmp, join(dir, LOCK));
    return "ours";
  } catch (err) {
    // ENOENT: a failed builder removed the empty folder between our mkdir and link; try again.
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "retry";
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  const lock = join(dir, LOCK);
  const st = await stat(lock).catch(() => undefined);
  if (!st) return "retry";
  const holder = await readFile(lock, "utf8").then((t) => JSON.parse(t) as LockOwner, () => undefined);
  if (holder && !ownerAlive(holder.host, holder.pid)) return "stale";
  return Date.now() - st.mtimeMs > STALE_MS ? "stale" : "live";
}

async function unlockIfOurs(dir: string, owner: LockOwner): Promise<void> {
  const lock = join(dir, LOCK);
  const holder = await readFile(lock, "utf8").then((t) => JSON.parse(t) as LockOwner, () => undefined);
  if (holder?.nonce === owner.nonce) await unlink(lock).catch(() => undefined);
}

/** Only a same-host pid can be checked; another host's build is judged by its heartbeat. */
function ownerAlive(host: string, pid: number): boolean {
  if (host !== HOST) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Builds a venv in its own folder, installs, records, and publishes it; removes it on any failure. */
async function build(plan: Plan): Promise<PythonVenv> {
  const { options, base } = plan;
  const progress = options.progress ?? (() => undefined);
  await removeAbandonedBuilds(plan.dir);
  const name = `venv-${HOST}-${process.pid}-${randomBytes(4).toString("hex")}`;
  const venvDir = join(plan.dir, name);
  const python = venvPython(venvDir);
  const what = options.pipPackages.length > 0 ? options.pipPackages.join(", ") : "no packages";
  progress(`building environment ${plan.hash.slice(0, 12)}: Python ${base.version} with ${what} from ${describePackageSource(options.packageSource)}`);
  let published = false;
  try {
    const created = await runLogged(base.path, ["-m", "venv", venvDir], progress);
    if (created.code !== 0) throw fail(options, { kind: "venv-refused", python: base.path, version: base.version, cause: venvRefusal(created) });
    // The venv's python must be its own: sys.prefix is the venv, so it sees the venv's site-packages.
    const probe = await runLogged(python, ["-c", "import sys; print(sys.prefix); print(sys.version.split()[0])"]);
    const [prefix, version] = probe.lines.slice(-2);
    if (probe.code !== 0 || !prefix || !version || realpathSync(venvDir) !== (tryRealpath(prefix) ?? prefix)) {
      throw fail(options, { kind: "venv-broken", python: base.path, output: lastLine(probe.lines) ?? `exit code ${probe.code}` });
    }
    if (options.pipPackages.length > 0) {
      const installed = await runLogged(python, ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", ...sourceArgs(options.packageSource), ...options.pipPackages], progress);
      if (installed.code !== 0) throw fail(options, pipFailure(options, installed));
    }
    const freeze = await runLogged(python, ["-m", "pip", "freeze", "--all", "--disable-pip-version-check"]);
    if (freeze.code !== 0) throw fail(options, { kind: "freeze-failed", output: lastLine(freeze.lines) ?? `exit code ${freeze.code}` });
    const installed = freeze.lines.filter((l) => l.trim() !== "").sort();
    // The key was computed before pip read the folders: it must still describe what pip saw.
    const now = await hashFindLinks(options);
    const changed = options.packageSource.findLinks.find((_, i) => now[i] !== plan.findLinks[i]);
    if (changed !== undefined) throw new SourceChanged(changed);
    const manifest: Manifest = { format: FORMAT, hash: plan.hash, dir: name, version, installed };
    const tmp = join(plan.dir, `${MANIFEST}.${name}`);
    await writeFile(tmp, JSON.stringify(manifest, null, 2));
    try {
      await link(tmp, join(plan.dir, MANIFEST));
      published = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    if (!published) {
      // Another build (whose lock we judged stale) published first: use its venv, drop ours.
      const winner = readManifest(plan);
      if (winner) return winner;
      throw fail(options, { kind: "published-broken", dir: plan.dir });
    }
    progress(`built environment ${plan.hash.slice(0, 12)}: ${installed.join(" ") || "no packages"}`);
    return { python, version, key: plan.key, installed, built: true, env: venvEnv(venvDir) };
  } finally {
    if (!published) await rm(venvDir, { recursive: true, force: true, maxRetries: 2 }).catch(() => undefined);
  }
}

/**
 * Called under the lock: removes folders of builds that died (their host is this one and their
 * pid is gone, or is ours: this process builds one environment once at a time) and a manifest
 * whose venv was deleted.
 */
async function removeAbandonedBuilds(dir: string): Promise<void> {
  await unlink(join(dir, MANIFEST)).catch(() => undefined);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.startsWith(`${LOCK}.`)) {
      // A lock being written exists for microseconds; an old one is left by a killed process.
      const st = await stat(join(dir, name)).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > STALE_MS) await unlink(join(dir, name)).catch(() => undefined);
      continue;
    }
    const m = BUILD_DIR.exec(name);
    const stray = name.startsWith(`${MANIFEST}.`);
    if (!m && !stray) continue;
    const [, host = "", pid = "0"] = m ?? BUILD_DIR.exec(name.slice(MANIFEST.length + 1)) ?? [];
    if (host === HOST && Number(pid) !== process.pid && ownerAlive(host, Number(pid))) continue;
    // A killed build's orphaned pip may still be writing there: what is left goes next time.
    await rm(join(dir, name), { recursive: true, force: true, maxRetries: 2 }).catch(() => undefined);
  }
}

function sourceArgs(source: PackageSource): string[] {
  const links = source.findLinks.flatMap((f) => ["--find-links", f]);
  if (source.indexUrl !== undefined) return ["--index-url", source.indexUrl, ...links];
  return links.length > 0 ? ["--no-index", ...links] : [];
}

/** What pip's output says went wrong, as data. */
function pipFailure(options: PythonVenvOptions, result: Logged): EnvironmentProblem {
  const errors = result.lines.filter((l) => l.startsWith("ERROR: ")).map((l) => l.slice("ERROR: ".length).trim());
  const source = options.packageSource;
  const missing = errors.map((e) => /^No matching distribution found for (.+)$/.exec(e)).find((m) => m);
  // pip reports an unreachable index as "no matching distribution" after its retries: say which it was.
  const broken = result.lines.map((l) => /after connection broken by '(\w+)\((.*)': /.exec(l)).filter((m) => m !== null).at(-1);
  if (missing && broken) {
    const error = /\[Errno [^\]]+\][^'")]*/.exec(broken[2] ?? "")?.[0] ?? broken[1]!;
    return { kind: "pip-unreachable", source, requirement: missing[1]!, error };
  }
  if (missing) return { kind: "pip-no-version", source, requirement: missing[1]!, pipSays: missing[0] };
  const output = errors.at(-1) ?? lastLine(result.lines) ?? `exit code ${result.code}`;
  return { kind: "pip-failed", source, pipPackages: options.pipPackages, output };
}

/** Debian's Python without python3-venv fails with a long paragraph; the describer says what to install. */
function venvRefusal(result: Logged): VenvRefusal {
  const text = result.lines.join("\n");
  if (/ensurepip is not\s+available/.test(text)) return { kind: "ensurepip-missing" };
  const noModule = /No module named (\S+)/.exec(text);
  if (noModule) return { kind: "module-missing", module: noModule[1]! };
  return { kind: "output", output: lastLine(result.lines) ?? `exit code ${result.code}` };
}

function tryRealpath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

function lastLine(lines: readonly string[]): string | undefined {
  return lines.filter((l) => l.trim() !== "").at(-1)?.trim();
}

function venvPython(venvDir: string): string {
  return IS_WINDOWS ? join(venvDir, "Scripts", "python.exe") : join(venvDir, "bin", "python");
}

function venvEnv(venvDir: string): Record<string, string> {
  const bin = join(venvDir, IS_WINDOWS ? "Scripts" : "bin");
  return { VIRTUAL_ENV: venvDir, PATH: `${bin}${delimiter}${process.env["PATH"] ?? ""}` };
}

function fail(options: PythonVenvOptions, problem: EnvironmentProblem, cause?: unknown): ComputeError {
  return new ComputeError({ reason: "environment-unbuildable", step: options.stepName, target: options.targetName, problem }, cause === undefined ? undefined : { cause });
}

interface Logged {
  readonly code: number | null;
  /** stdout and stderr lines as they came (the last 500). */
  readonly lines: readonly string[];
}

/**
 * Environment for pip and the venv: nothing from this process may change what is installed
 * without being in the key (PIP_INDEX_URL, PIP_FIND_LINKS, pip.conf files, PYTHONPATH making pip
 * believe a package is already there). Transport settings (cache, certificates, proxy) stay.
 */
function isolatedEnv(): NodeJS.ProcessEnv {
  const keep = new Set(["PIP_CACHE_DIR", "PIP_CERT", "PIP_CLIENT_CERT", "PIP_PROXY", "PIP_TIMEOUT", "PIP_DEFAULT_TIMEOUT", "PIP_RETRIES", "PIP_TRUSTED_HOST"]);
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("PIP_") && !keep.has(k)) continue;
    if (["PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE", "VIRTUAL_ENV", "__PYVENV_LAUNCHER__"].includes(k)) continue;
    env[k] = v;
  }
  return { ...env, PIP_CONFIG_FILE: devNull, PYTHONNOUSERSITE: "1" };
}

/** Runs a process, passing each output line to `onLine`; a spawn failure is an exit code of null. */
function runLogged(command: string, args: readonly string[], onLine?: (line: string) => void): Promise<Logged> {
  return new Promise((resolve) => {
    const lines: string[] = [];
    const push = (line: string): void => {
      lines.push(line);
      if (lines.length > 500) lines.shift();
      onLine?.(line);
    };
    const child = spawn(command, args, { env: isolatedEnv(), stdio: ["ignore", "pipe", "pipe"] });
    for (const stream of [child.stdout, child.stderr]) {
      let rest = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        const parts = (rest + chunk).split(/\r?\n/);
        rest = parts.pop() ?? "";
        parts.forEach(push);
      });
      stream.on("end", () => rest && push(rest));
    }
    child.on("error", (err) => {
      push(err.message);
      resolve({ code: null, lines });
    });
    child.on("close", (code) => resolve({ code, lines }));
  });
}
