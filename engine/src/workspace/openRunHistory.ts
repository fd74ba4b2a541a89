import { mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { openDatabase } from "../store/openDatabase.js";
import { AgentStore } from "../store/AgentStore.js";
import { RunStore } from "../store/RunStore.js";
import { DEFAULT_STORE_DIR, locateWorkspace } from "./locateWorkspace.js";

/** A workspace's run history alone: what `pipebook runs`, `show`, `logs` and `why` read. */
export interface RunHistory {
  /** The store folder. */
  readonly dir: string;
  readonly runs: RunStore;
  /** Agents as the workspace's server last recorded them (`pipebook agents`). */
  readonly agents: AgentStore;
  close(): void;
}

/**
 * Opens the run history of the workspace Workspace.fromConfig would open, and nothing else of
 * it: no compute targets, datasets, publishing or runner, whose modules take several times
 * longer to load than such a command takes to answer. Runs left in flight by a dead process are
 * marked failed on the way in, as Workspace.fromConfig does.
 */
export async function openRunHistory(from: string = process.cwd()): Promise<RunHistory> {
  const { configFile, root } = locateWorkspace(from);
  const dir = resolve(root, (configFile && (await storeDirOf(configFile))) ?? DEFAULT_STORE_DIR);
  mkdirSync(dir, { recursive: true });
  const db = openDatabase(join(dir, "pipebook.db"));
  const runs = new RunStore(db);
  // The recovery's process-handling modules (processIdentity, stopStepProcesses, cgroups) are
  // loaded only when a run is in flight, which is seldom when a person asks: one SELECT first.
  if (runs.listActiveRuns().length > 0) (await import("../runner/recoverOrphanedRuns.js")).recoverOrphanedRuns({ runs });
  return { dir, runs, agents: AgentStore.onDatabase(db), close: () => db.close() };
}

/**
 * pipebook.json's storeDir, read without the config schema (zod and every target's settings).
 * A file that is not plainly right is read by readWorkspaceConfig, which says what is wrong.
 */
async function storeDirOf(configFile: string): Promise<string | undefined> {
  try {
    const storeDir = (JSON.parse(readFileSync(configFile, "utf8")) as { storeDir?: unknown } | null)?.storeDir;
    if (storeDir === undefined || (typeof storeDir === "string" && storeDir.length > 0)) return storeDir;
  } catch {
    // Unreadable or not JSON: said below.
  }
  const { readWorkspaceConfig } = await import("./workspaceConfig.js");
  return (await readWorkspaceConfig(configFile)).storeDir;
}
