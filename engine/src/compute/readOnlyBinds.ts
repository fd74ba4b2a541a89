import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

/**
 * Shared dataset layouts carry no write permission (datasets/readOnlyTree.ts), but permission
 * bits do not bind root. A step run as root therefore starts in a private mount namespace of
 * its own (util-linux `unshare`), where each of its mounted inputs is bound read-only onto
 * itself: a write fails with EROFS and the engine's view of the files never changes. Where
 * the engine cannot make a mount namespace (a container without CAP_SYS_ADMIN), a root step
 * can still write into its mounted inputs; docs/engine.md says so.
 */
export function withReadOnlyBinds(argv: readonly string[], paths: readonly string[]): string[] {
  if (paths.length === 0 || process.getuid?.() !== 0) return [...argv];
  const tools = bindTools();
  if (!tools) return [...argv];
  const script = `while [ "$1" != -- ]; do ${tools.mount} --bind -o ro "$1" "$1" || { echo "pipebook: input $1 could not be made read-only" >&2; exit 126; }; shift; done; shift; exec "$@"`;
  return [tools.unshare, "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "pipebook-read-only-inputs", ...paths, "--", ...argv];
}

let probed: { unshare: string; mount: string } | null | undefined;

/** unshare and mount by absolute path, once a read-only bind in a new mount namespace worked; null where it does not. */
function bindTools(): { unshare: string; mount: string } | null {
  if (probed !== undefined) return probed;
  const unshare = onPath("unshare");
  const mount = onPath("mount");
  const dir = tmpdir();
  const works = unshare !== undefined && mount !== undefined
    && spawnSync(unshare, ["--mount", "--propagation", "private", mount, "--bind", "-o", "ro", dir, dir], { stdio: "ignore", timeout: 10_000 }).status === 0;
  probed = works ? { unshare: unshare!, mount: mount! } : null;
  return probed;
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
