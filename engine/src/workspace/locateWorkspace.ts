import { statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export const CONFIG_FILE = "pipebook.json";
/** The store folder, in the project folder, when pipebook.json names none. */
export const DEFAULT_STORE_DIR = ".pipebook";

export interface WorkspaceLocation {
  /** The pipebook.json found, if any. */
  readonly configFile: string | undefined;
  /** Project folder: where pipebook.json is, or the folder looked from. */
  readonly root: string;
}

/**
 * Where a workspace is, without opening it: `from` itself when it is a config file, else
 * pipebook.json in `from` or its nearest parent holding one, else `from` (an embedded workspace).
 * The one place that decides it, for Workspace.fromConfig and for commands that only read runs.
 */
export function locateWorkspace(from: string): WorkspaceLocation {
  const start = resolve(from);
  if (statSync(start, { throwIfNoEntry: false })?.isFile()) return { configFile: start, root: dirname(start) };
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, CONFIG_FILE);
    if (statSync(candidate, { throwIfNoEntry: false })?.isFile()) return { configFile: candidate, root: dir };
    if (dirname(dir) === dir) return { configFile: undefined, root: start };
  }
}
