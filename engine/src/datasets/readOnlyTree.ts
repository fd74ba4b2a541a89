import { chmod, lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

const WRITE_BITS = 0o222;

/**
 * Takes write permission off a file or a folder and everything in it (other bits are kept), so a
 * step reading a shared dataset layout cannot change what later steps read. Folders are done
 * after their contents. Links are left alone: chmod would follow them out of the tree.
 */
export async function sealTree(path: string): Promise<void> {
  await setWritable(path, false);
}

/** Gives the owner write permission back on a tree (to remove it, or to let a step change its own copy). */
export async function unsealTree(path: string): Promise<void> {
  await setWritable(path, true);
}

/** Whether a layout still has write permission (one written before layouts were sealed). */
export async function isWritable(path: string): Promise<boolean> {
  return ((await lstat(path)).mode & WRITE_BITS) !== 0;
}

async function setWritable(path: string, writable: boolean): Promise<void> {
  const st = await lstat(path);
  if (st.isSymbolicLink()) return;
  const mode = writable ? (st.mode & 0o7777) | 0o200 : (st.mode & 0o7777) & ~WRITE_BITS;
  // A folder opens for writing before its contents change and closes after them.
  if (st.isDirectory()) {
    if (writable) await chmod(path, mode);
    for (const name of await readdir(path)) await setWritable(join(path, name), writable);
    if (!writable) await chmod(path, mode);
  } else if ((st.mode & 0o7777) !== mode) {
    await chmod(path, mode);
  }
}
