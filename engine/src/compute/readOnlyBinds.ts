import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/**
 * Makes a step's in-place inputs — the outputs of earlier steps, datastore paths, mounted
 * datasets — read-only to it. Shared dataset layouts also carry no write permission
 * (datasets/readOnlyTree.ts), but an earlier step's output keeps the bits its producer gave it,
 * and permission bits do not bind root. For an engine run as root, the step launcher therefore
 * lives in a mount namespace of its own (util-linux `unshare`, slave propagation: mounts made on
 * the machine later still reach it, its own never leave it), where each workspace's data folder
 * is bound read-only once and writable at a second path, where steps write their outputs, and any
 * other input a step reads in place is bound read-only once per path (launcherProcess.ts): no
 * mount per step. A write into an input fails with EROFS ("Read-only file system")
 * and what the engine stored never changes; the engine's own view is untouched. Where no mount
 * namespace can be made (a container without CAP_SYS_ADMIN), or the engine runs as another user
 * (an unprivileged user namespace drops the capability to mount at exec), a local step can write
 * into an earlier step's output; docs/engine.md says so.
 *
 * The launcher's command line: `unshare` with its options, then what to run in it, and the
 * `mount` it binds with; undefined where this process cannot give its steps read-only inputs.
 */
export function namespacedLauncher(): { readonly prefix: readonly string[]; readonly mount: string } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const tools = bindTools();
  return tools ? { prefix: [tools.unshare, ...NAMESPACE, "--"], mount: tools.mount } : undefined;
}

const NAMESPACE = ["--mount", "--propagation", "slave"];

/**
 * The same for a command run on another machine (a Slurm node), where what works is known only
 * there: a shell line that binds the inputs read-only in a mount namespace of the job's own when
 * it runs as root and the node's `unshare` can, and otherwise runs the command as it is, saying so on stderr once.
 */
export function readOnlyBindsOnNode(argv: readonly string[], paths: readonly string[]): string[] {
  if (paths.length === 0) return [...argv];
  const inner = bindScript("mount");
  const script = [
    'if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1 && unshare --mount --propagation private /bin/true 2>/dev/null; then',
    '  exec unshare --mount --propagation private /bin/sh -c "$0" pipebook-read-only-inputs "$@"',
    "fi",
    'echo "[pipebook] this step\'s inputs are not made read-only on $(hostname): it runs as $(id -un), or no mount namespace can be made (unshare)" >&2',
    'while [ "$1" != -- ]; do shift; done; shift; exec "$@"',
  ].join("\n");
  return ["/bin/sh", "-c", script, inner, ...paths, "--", ...argv];
}

/** Binds each path before `--` read-only onto itself, then execs what follows; a bind that fails ends the step (126). */
function bindScript(mount: string): string {
  return `while [ "$1" != -- ]; do ${mount} --bind -o ro "$1" "$1" || { echo "pipebook: input $1 could not be made read-only" >&2; exit 126; }; shift; done; shift; exec "$@"`;
}

let probed: { unshare: string; mount: string } | null | undefined;
let probing: Promise<unknown> | undefined;

/** unshare and mount by absolute path, once a read-only bind in a new mount namespace worked; null where it does not. */
function bindTools(): { unshare: string; mount: string } | null {
  if (probed !== undefined) return probed;
  const tools = candidateTools();
  probed = null;
  if (tools === undefined) return probed;
  if (spawnSync(tools.unshare, probeArgs(tools), { stdio: "ignore", timeout: 10_000 }).status === 0) probed = tools;
  return probed;
}

/**
 * The same probe without blocking this thread for it (the process is started, not waited for):
 * resolves once namespacedLauncher() answers at once. Asked while a run is submitted, so its first
 * step does not wait for the probe.
 */
export function probeNamespace(): Promise<unknown> {
  if (probed !== undefined || process.getuid?.() !== 0) return Promise.resolve();
  return (probing ??= new Promise<void>((resolve) => {
    const tools = candidateTools();
    if (tools === undefined) {
      probed = null;
      return resolve();
    }
    const settle = (works: boolean): void => {
      probed ??= works ? tools : null;
      resolve();
    };
    const child = spawn(tools.unshare, probeArgs(tools), { stdio: "ignore", timeout: 10_000 });
    child.once("error", () => settle(false));
    child.once("exit", (code) => settle(code === 0));
  }));
}

function candidateTools(): { unshare: string; mount: string } | undefined {
  const unshare = onPath("unshare");
  const mount = onPath("mount");
  return unshare === undefined || mount === undefined ? undefined : { unshare, mount };
}

function probeArgs(tools: { unshare: string; mount: string }): string[] {
  const dir = tmpdir();
  return [...NAMESPACE, "--", tools.mount, "--bind", "-o", "ro", dir, dir];
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
