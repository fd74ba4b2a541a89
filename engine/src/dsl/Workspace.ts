import { mkdirSync } from "node:fs";
import { stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { BlobStore } from "../artifacts/BlobStore.js";
import { LocalCompute } from "../compute/LocalCompute.js";
import { GpuSlots } from "../compute/GpuSlots.js";
import type { ComputeTarget } from "../compute/ComputeTarget.js";
import { HashPool } from "../fingerprint/HashPool.js";
import { StatCache } from "../fingerprint/StatCache.js";
import { openDatabase, type Db } from "../store/openDatabase.js";
import { RunStore } from "../store/RunStore.js";
import { recoverOrphanedRuns } from "../runner/recoverOrphanedRuns.js";
import { Datastore } from "./Datastore.js";
import { readWorkspaceConfig, type WorkspaceConfig } from "./workspaceConfig.js";

export const CONFIG_FILE = "pipebook.json";
export const DEFAULT_DATASTORE = "workspaceblobstore";

/** One Workspace object per store folder and process: cells that call fromConfig again share it. */
const open = new Map<string, Workspace>();

/**
 * The embedded workspace: SQLite run history, content-addressed blobs, datastores and output
 * data in one folder (default `./.pipebook`). A remote workspace (a `pipebook serve` engine)
 * will implement the same surface for submitting.
 */
export class Workspace {
  readonly name: string;
  /** Project folder: where pipebook.json is, or the folder the embedded workspace was made in. */
  readonly root: string;
  /** The store folder. */
  readonly dir: string;
  readonly db: Db;
  readonly runs: RunStore;
  readonly blobs: BlobStore;
  readonly statCache: StatCache;
  readonly hashPool: HashPool;
  readonly concurrency: number;
  private readonly computeTargets = new Map<string, ComputeTarget>();
  private readonly datastores = new Map<string, Datastore>();

  private constructor(root: string, dir: string, config: WorkspaceConfig) {
    this.root = root;
    this.dir = dir;
    this.name = config.name ?? basename(root);
    mkdirSync(dir, { recursive: true });
    this.db = openDatabase(join(dir, "pipebook.db"));
    this.runs = new RunStore(this.db);
    this.blobs = new BlobStore(join(dir, "blobs"));
    this.statCache = new StatCache(this.db);
    this.hashPool = new HashPool();
    this.concurrency = config.concurrency ?? availableParallelism();
    const gpuSlots = new GpuSlots(join(dir, "locks"));
    this.computeTargets.set("local", new LocalCompute("local", gpuSlots));
    for (const [name, target] of Object.entries(config.computeTargets ?? {})) {
      switch (target.kind) {
        case "local":
          this.computeTargets.set(name, new LocalCompute(name, gpuSlots));
          break;
      }
    }
    this.datastores.set(DEFAULT_DATASTORE, new Datastore(DEFAULT_DATASTORE, join(dir, "datastores", DEFAULT_DATASTORE)));
  }

  /**
   * Finds `pipebook.json` in `from` (default: the current folder) or a parent; without one,
   * opens (or makes) the embedded workspace `./.pipebook` in `from`. Runs left in flight by
   * a process that died are marked failed on the way in.
   */
  static async fromConfig(options: { path?: string } = {}): Promise<Workspace> {
    const start = resolve(options.path ?? process.cwd());
    const configFile = (await stat(start).then((s) => s.isFile(), () => false)) ? start : await findUp(start);
    const config = configFile ? await readWorkspaceConfig(configFile) : {};
    const root = configFile ? dirname(configFile) : start;
    const dir = resolve(root, config.storeDir ?? ".pipebook");
    let ws = open.get(dir);
    if (!ws) {
      ws = new Workspace(root, dir, config);
      open.set(dir, ws);
      recoverOrphanedRuns(ws);
    }
    return ws;
  }

  /** Where output data of step runs lives. */
  get dataDir(): string {
    return join(this.dir, "data");
  }

  /** Where run folders (logs, metrics, working copies) live. */
  get runsDir(): string {
    return join(this.dir, "runs");
  }

  getDefaultDatastore(): Datastore {
    return this.datastores.get(DEFAULT_DATASTORE)!;
  }

  getDatastore(name: string): Datastore | undefined {
    return this.datastores.get(name);
  }

  getComputeTarget(name: string): ComputeTarget | undefined {
    return this.computeTargets.get(name);
  }

  get computeTargetNames(): ReadonlySet<string> {
    return new Set(this.computeTargets.keys());
  }

  /** Adds (or replaces) a compute target, e.g. one made in a notebook. */
  attachComputeTarget(target: ComputeTarget): void {
    this.computeTargets.set(target.name, target);
  }

  async close(): Promise<void> {
    open.delete(this.dir);
    await this.hashPool.close();
    this.db.close();
  }
}

async function findUp(from: string): Promise<string | undefined> {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, CONFIG_FILE);
    if (await stat(candidate).then((s) => s.isFile(), () => false)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}
