import { readFileSync, realpathSync } from "node:fs";
import { dirname } from "node:path";

/**
 * File systems that are one tree on every machine that mounts them: a folder on one of these is
 * seen by a cluster's nodes where the engine sees it (when they mount it at the same place, as
 * clusters do). Anything else (ext4, xfs, overlay, tmpfs) is this machine's own.
 */
const SHARED_TYPES = new Set([
  "nfs", "nfs4", "lustre", "gpfs", "beegfs", "ceph", "fuse.ceph", "fuse.ceph-fuse", "cifs", "smb3", "smbfs", "afs", "panfs",
  "wekafs", "glusterfs", "fuse.glusterfs", "fuse.sshfs", "fuse.juicefs", "fuse.lizardfs", "fuse.mfs", "fuse.moosefs",
  "quobyte", "fuse.quobyte", "ocfs2", "gfs2", "dvs", "pvfs2", "orangefs",
]);

export interface FileSystemInfo {
  /** The file system type as the kernel names it (nfs4, ext4, overlay). */
  readonly type: string;
  readonly mountPoint: string;
  readonly shared: boolean;
}

/** The file system holding `path` (its nearest existing parent), from /proc/self/mountinfo. */
export function fileSystemOf(path: string): FileSystemInfo {
  let real = path;
  for (;;) {
    try {
      real = realpathSync(real);
      break;
    } catch {
      if (dirname(real) === real) break;
      real = dirname(real);
    }
  }
  let best: { mountPoint: string; type: string } = { mountPoint: "/", type: "unknown" };
  let text = "";
  try {
    text = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return { ...best, shared: false };
  }
  for (const line of text.split("\n")) {
    // id parent major:minor root mountpoint options [optional…] - type source superoptions
    const fields = line.split(" ");
    const dash = fields.indexOf("-");
    const mountPoint = fields[4]?.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    const type = dash >= 0 ? fields[dash + 1] : undefined;
    if (!mountPoint || !type) continue;
    const inside = real === mountPoint || real.startsWith(mountPoint.endsWith("/") ? mountPoint : `${mountPoint}/`);
    // Later lines mount over earlier ones at the same point.
    if (inside && mountPoint.length >= best.mountPoint.length) best = { mountPoint, type };
  }
  return { ...best, shared: SHARED_TYPES.has(best.type) };
}
