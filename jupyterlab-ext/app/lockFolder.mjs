// A folder as a lock between processes: mkdir is atomic, and the folder holds its owner's pid, so
// a lock left by a killed process (Ctrl-C during a build) is taken over. Used by the workbench
// build (app/build.mjs) and the prebuilt extension's install (src/install/installLabExtension.ts);
// each waits in its own way (one is async, one synchronous).
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * Takes the lock if it is free. When it is held by a process that is gone, or for longer than
 * `staleMs`, clears it so that the next try can take it. Returns whether this call took it.
 */
export function tryLockFolder(lock, staleMs) {
  try {
    mkdirSync(lock);
    writeFileSync(path.join(lock, "pid"), String(process.pid));
    return true;
  } catch (error) {
    if (error.code !== "EEXIST") throw error;
    const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (!holderAlive(lock) || age > staleMs) rmSync(lock, { recursive: true, force: true });
    return false;
  }
}

export function unlockFolder(lock) {
  rmSync(lock, { recursive: true, force: true });
}

/** False when the lock's owner process is gone; true while it lives or is not yet written. */
function holderAlive(lock) {
  let pid;
  try {
    pid = Number(readFileSync(path.join(lock, "pid"), "utf8"));
  } catch {
    return true; // just created, pid not written yet
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === "EPERM";
  }
}
