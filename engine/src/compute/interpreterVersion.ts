import { randomBytes } from "node:crypto";
import { closeSync, openSync, readFileSync, readSync, realpathSync, statSync } from "node:fs";
import { mkdir, rename, unlink, writeFile } from "node:fs/promises";
import { delimiter, dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { ComputeError } from "./ComputeFailure.js";
import { StatCache } from "../store/StatCache.js";

const cache = new Map<string, Promise<{ path: string; version: string }>>();
const IS_WINDOWS = process.platform === "win32";

/**
 * Resolves an interpreter command to its path and version, once per process: the version
 * enters the reuse key (another Python can give other results), the lookup must not cost
 * a process spawn per step.
 */
export function resolveInterpreter(command: string, cacheKey: string = command): Promise<{ path: string; version: string }> {
  let hit = cache.get(cacheKey);
  if (!hit) {
    // node:child_process (~7 ms of CPU to load here) only when a Python must be asked: a rerun
    // finds its interpreters remembered (resolveKnownInterpreter) and runs none.
    hit = import("node:child_process")
      .then(({ execFile }) => promisify(execFile)(command, ["-c", "import sys; print(sys.executable); print(sys.version.split()[0])"], { timeout: 20_000 }))
      .then(({ stdout }) => {
        const [path = command, version = "unknown"] = stdout.trim().split("\n");
        return { path, version };
      })
      .catch((err: Error) => {
        cache.delete(cacheKey);
        throw new ComputeError({ reason: "interpreter-unrunnable", interpreter: command, message: err.message.split("\n")[0]! });
      });
    cache.set(cacheKey, hit);
  }
  return hit;
}

/** An interpreter as it resolved, remembered for as long as everything that chose it is unchanged. */
export interface InterpreterEntry {
  /** What chose the interpreter (interpreterStamp): the binary's stamp, or a pyenv shim's selection. */
  readonly stamp: string;
  /** sys.executable and version, as resolveInterpreter reports them. */
  readonly path: string;
  readonly version: string;
  /** Stamp of the file at `path`: a reinstalled Python of the same name is looked at again. */
  readonly pathStamp?: string;
}

const INTERPRETERS = "interpreters.json";

/**
 * resolveInterpreter across processes: the answer is kept in `root`/interpreters.json (the
 * workspace's envs folder) under the stamp of what chose it, so a rerun in a fresh process
 * starts no interpreter (60 ms for a plain python3 here, 0.3–1 s through a pyenv shim, most of
 * a no-op rerun). `remember: false` leaves the record to the caller (a venv is remembered only
 * once it is ready).
 */
export async function resolveKnownInterpreter(
  root: string,
  command: string,
  options: { remember?: boolean } = {},
): Promise<{ path: string; version: string; entry?: InterpreterEntry }> {
  const stamp = interpreterStamp(command);
  const known = stamp === undefined ? undefined : readKnownInterpreters(root)[command];
  if (known && known.stamp === stamp && known.pathStamp !== undefined && fileStamp(known.path) === known.pathStamp) return known;
  // Per process by what chose it, too: a changed .python-version is seen by a running kernel.
  const found = await resolveInterpreter(command, stamp === undefined ? command : `${command}\0${stamp}`);
  if (stamp === undefined) return found;
  const pathStamp = fileStamp(found.path);
  const entry: InterpreterEntry = { stamp, path: found.path, version: found.version, ...(pathStamp !== undefined && { pathStamp }) };
  if (options.remember ?? true) await rememberInterpreter(root, command, entry);
  return { ...found, entry };
}

/**
 * Records how a command resolved. Concurrent writers may drop each other's entry: that only
 * costs a spawn in a later process.
 */
export async function rememberInterpreter(root: string, command: string, entry: InterpreterEntry): Promise<void> {
  const file = join(root, INTERPRETERS);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  try {
    await mkdir(root, { recursive: true });
    await writeFile(tmp, JSON.stringify({ ...readKnownInterpreters(root), [command]: entry }, null, 2));
    await rename(tmp, file);
  } catch {
    await unlink(tmp).catch(() => undefined);
  }
}

function readKnownInterpreters(root: string): Record<string, InterpreterEntry | undefined> {
  try {
    return JSON.parse(readFileSync(join(root, INTERPRETERS), "utf8")) as Record<string, InterpreterEntry>;
  } catch {
    return {};
  }
}

/**
 * What decides which Python a command runs, without running it; undefined when that cannot be
 * known (a command not found, a wrapper script of unknown kind): then it is run every time
 * (once per process). The command is found on PATH as execvp would. A binary is stamped by the
 * path found, its real path and stat. A pyenv shim picks its Python from PYENV_* variables, the
 * nearest .python-version above the working folder and $PYENV_ROOT/version, as pyenv's
 * version-file lookup does: those are its stamp (and the chosen binary's own stamp is checked
 * through InterpreterEntry.pathStamp).
 */
export function interpreterStamp(command: string): string | undefined {
  if (IS_WINDOWS) return undefined;
  const candidates = command.includes("/")
    ? [resolve(command)]
    : (process.env["PATH"] ?? "").split(delimiter).filter((d) => d !== "").map((d) => join(d, command));
  for (const candidate of candidates) {
    // A stat first: most PATH entries lack the command, and a failing realpath costs an exception.
    if (statSync(candidate, { throwIfNoEntry: false }) === undefined) continue;
    let real: string;
    try {
      real = realpathSync(candidate);
    } catch {
      continue;
    }
    const st = statSync(real, { bigint: true, throwIfNoEntry: false });
    if (!st?.isFile() || (st.mode & 0o111n) === 0n) continue;
    const head = readHead(real, 1024);
    const own = `${candidate}:${real}:${StatCache.stamp(st)}`;
    if (!head.startsWith("#!")) return own;
    const pyenvRoot = /^export PYENV_ROOT="([^"]+)"$/m.exec(head)?.[1];
    if (pyenvRoot === undefined || !/libexec\/pyenv" exec /.test(head)) return undefined;
    return `pyenv:${own}:${pyenvSelection(pyenvRoot)}`;
  }
  return undefined;
}

/** Everything pyenv's version lookup reads: its variables, and the version file it would use. */
function pyenvSelection(pyenvRoot: string): string {
  const vars = Object.entries(process.env).filter(([k]) => k.startsWith("PYENV")).sort(([a], [b]) => (a < b ? -1 : 1));
  let file: string | undefined;
  for (let at = resolve(process.env["PYENV_DIR"] ?? process.cwd()); ; at = dirname(at)) {
    if (statSync(join(at, ".python-version"), { throwIfNoEntry: false })?.isFile()) {
      file = join(at, ".python-version");
      break;
    }
    if (dirname(at) === at) break;
  }
  file ??= join(pyenvRoot, "version");
  let content = "";
  try {
    content = readFileSync(file, "utf8");
  } catch {
    // No version file: pyenv uses "system", which the stamp says as well as any content.
  }
  return JSON.stringify({ vars, file, content });
}

function fileStamp(path: string): string | undefined {
  try {
    const st = statSync(realpathSync(path), { bigint: true });
    return `${path}:${StatCache.stamp(st)}`;
  } catch {
    return undefined;
  }
}

function readHead(path: string, bytes: number): string {
  const head = Buffer.alloc(bytes);
  const fd = openSync(path, "r");
  try {
    return head.toString("latin1", 0, readSync(fd, head, 0, bytes, 0));
  } finally {
    closeSync(fd);
  }
}
