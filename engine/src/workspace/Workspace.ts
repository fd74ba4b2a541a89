import { mkdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, join, resolve } from "node:path";
import { BlobStore } from "../artifacts/BlobStore.js";
import type { Compute } from "../compute/Compute.js";
import { createCompute, type ComputeContext } from "../compute/createCompute.js";
import { GpuSlots } from "../compute/GpuSlots.js";
import { HashPool } from "../fingerprint/HashPool.js";
import { snapshotSource, type SourceSnapshot } from "../fingerprint/snapshotSource.js";
import { DATASET_SERVICES, type DatasetServices } from "../datasets/datasetServices.js";
import { StatCache } from "../store/StatCache.js";
import { openDatabase, type Db } from "../store/openDatabase.js";
import { DatasetStore } from "../store/DatasetStore.js";
import { ModuleStore } from "../store/ModuleStore.js";
import { RunStore } from "../store/RunStore.js";
import type { PublishedPipeline } from "../publish/PublishedPipeline.js";
import type { RecordedRun } from "../publish/RecordedRun.js";
import { PipelineRun, type SubmitOptions } from "../runner/PipelineRun.js";
import type { SubmittedRun } from "../runner/SubmittedRun.js";
import type { Pipeline } from "../dsl/Pipeline.js";
import type { RemoteServer } from "../remote/RemoteServer.js";
import type { AnyDatastore } from "../dsl/Datastore.js";
import { Datastore } from "../datastores/Datastore.js";
import { datastoreConfigProblem, type DatastoreConfig } from "../dsl/datastoreConfig.js";
import { AzureBlobDatastore } from "../datastores/AzureBlobDatastore.js";
import { DatastoreStore } from "../store/DatastoreStore.js";
import { DatastoreError } from "../dsl/DatastoreFailure.js";
import { readWorkspaceConfig, type ComputeTargetConfig, type WorkspaceConfig } from "./workspaceConfig.js";
import { DEFAULT_STORE_DIR, locateWorkspace } from "./locateWorkspace.js";
import { WorkspaceError } from "./WorkspaceFailure.js";

export { CONFIG_FILE } from "./locateWorkspace.js";
export const DEFAULT_DATASTORE = "workspaceblobstore";

/**
 * What declarations and run records ask of the engine (the seeds' `experiment.submit`,
 * `pipeline.publish`, `run.publishPipeline`, `PipelineRun.get`). The workspace, as the
 * composition root, wires them here, so `dsl/` imports no runner or publishing and the runner
 * imports no publishing: they reach each other through this, never through an import.
 */
export interface EngineServices {
  /** A PipelineRun run by this process, or a RemoteRun that a server runs (remote/). */
  readonly submit: (experiment: string, pipeline: Pipeline, options?: SubmitOptions) => Promise<SubmittedRun>;
  readonly publish: typeof PublishedPipeline.publish;
  readonly publishRun: typeof PublishedPipeline.fromRun;
  readonly recordedRun: typeof RecordedRun.get;
}

// Publishing's modules load when something is published or a recorded run is looked up.
const publishing = (): Promise<typeof import("../publish/PublishedPipeline.js")> => import("../publish/PublishedPipeline.js");
const SERVICES: EngineServices = {
  submit: (experiment, pipeline, options) => PipelineRun.submit(experiment, pipeline, options),
  publish: async (pipeline, options) => (await publishing()).PublishedPipeline.publish(pipeline, options),
  publishRun: async (ws, runId, options) => (await publishing()).PublishedPipeline.fromRun(ws, runId, options),
  recordedRun: async (ws, runId) => (await import("../publish/RecordedRun.js")).RecordedRun.get(ws, runId),
};

/**
 * The server a workspace submits to and the services that do so, when one is named; its modules
 * (the REST client, zod) load only then.
 */
async function remoteOf(server: string | undefined, config: WorkspaceConfig, root: string): Promise<{ server: RemoteServer; services: EngineServices } | undefined> {
  if (server === undefined && !process.env["PIPEBOOK_SERVER"]?.trim() && config.server === undefined) return undefined;
  const [{ chooseRemote }, { remoteServices }] = await Promise.all([import("../remote/remoteConfig.js"), import("../remote/remoteServices.js")]);
  const chosen = chooseRemote({ server, config, root });
  return chosen && { server: chosen, services: remoteServices(chosen) };
}

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
  /** Registered datasets and their versions. */
  readonly datasets: DatasetStore;
  /** Modules and their immutable versions (Module, ModuleStep). */
  readonly modules: ModuleStore;
  readonly blobs: BlobStore;
  readonly statCache: StatCache;
  readonly hashPool: HashPool;
  readonly concurrency: number;
  readonly services: EngineServices;
  /** What dataset declarations (dsl/Dataset.ts) run: listing, hashing, snapshots, layouts, tables. */
  readonly datasetServices: DatasetServices = DATASET_SERVICES;
  /**
   * The `pipebook serve` this workspace submits to (pipebook.json "server", PIPEBOOK_SERVER or
   * `fromConfig({server})`), or undefined. Its runs are recorded and executed there; this
   * folder's store only keeps the snapshots and hashes that make uploads incremental.
   */
  readonly remote: RemoteServer | undefined;
  private readonly targets = new Map<string, { readonly compute: Compute; readonly config: ComputeTargetConfig }>();
  /** What every compute target of this workspace shares: GPU locks, the venv folder. */
  readonly computeContext: ComputeContext;
  private readonly stores = new Map<string, AnyDatastore>();
  /** Datastores pipebook.json names: the file owns them, the DSL cannot replace them. */
  private readonly configuredStores = new Set<string>();
  private readonly configuredDefault: string | undefined;

  private constructor(root: string, dir: string, config: WorkspaceConfig, remote: { readonly server: RemoteServer; readonly services: EngineServices } | undefined) {
    this.root = root;
    this.remote = remote?.server;
    this.services = remote?.services ?? SERVICES;
    this.dir = dir;
    this.name = config.name ?? basename(root);
    mkdirSync(dir, { recursive: true });
    this.db = openDatabase(join(dir, "pipebook.db"));
    this.runs = new RunStore(this.db);
    this.datasets = DatasetStore.of(this);
    this.modules = ModuleStore.of(this);
    this.blobs = new BlobStore(join(dir, "blobs"));
    this.statCache = new StatCache(this.db);
    this.hashPool = new HashPool();
    this.concurrency = config.concurrency ?? availableParallelism();
    this.computeContext = { workspaceDir: dir, gpuSlots: new GpuSlots(join(dir, "locks")), envsDir: join(dir, "envs"), hasher: { cache: this.statCache, pool: this.hashPool }, blobs: this.blobs };
    for (const [name, target] of Object.entries({ local: { kind: "local" as const }, ...config.computeTargets })) this.attachCompute(name, target);
    this.stores.set(DEFAULT_DATASTORE, new Datastore(DEFAULT_DATASTORE, join(dir, "datastores", DEFAULT_DATASTORE), this.datasetServices));
    for (const { name, config: c } of DatastoreStore.of(this).list()) this.stores.set(name, this.makeDatastore(name, c));
    this.configuredDefault = config.defaultDatastore;
    for (const [name, c] of Object.entries(config.datastores ?? {})) {
      if (name === DEFAULT_DATASTORE) {
        this.db.close();
        throw new WorkspaceError({ reason: "datastore-redefined", name });
      }
      this.stores.set(name, this.makeDatastore(name, c));
      this.configuredStores.add(name);
    }
    if (this.configuredDefault !== undefined && !this.stores.has(this.configuredDefault)) {
      this.db.close();
      throw new WorkspaceError({ reason: "default-datastore-unknown", name: this.configuredDefault, known: [...this.stores.keys()] });
    }
  }

  /**
   * Finds `pipebook.json` in `from` (default: the current folder) or a parent; without one,
   * opens (or makes) the embedded workspace `./.pipebook` in `from`. Runs left in flight by
   * a process that died are marked failed on the way in.
   */
  static async fromConfig(options: { path?: string; server?: string } = {}): Promise<Workspace> {
    const { configFile, root } = locateWorkspace(options.path ?? process.cwd());
    const config = configFile ? await readWorkspaceConfig(configFile) : {};
    const dir = resolve(root, config.storeDir ?? DEFAULT_STORE_DIR);
    const remote = await remoteOf(options.server, config, root);
    const key = remote ? `${dir}\u0000${remote.server.url}` : dir;
    let ws = open.get(key);
    if (!ws) {
      ws = new Workspace(root, dir, config, remote);
      open.set(key, ws);
      // The recovery's process-handling modules load only when a run is in flight: one SELECT first.
      if (ws.runs.listActiveRuns().length > 0) (await import("../runner/recoverOrphanedRuns.js")).recoverOrphanedRuns(ws);
      await ws.recoverTargets();
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

  /** The default datastore: set by setDefaultDatastore, else pipebook.json's defaultDatastore, else workspaceblobstore. */
  getDefaultDatastore(): AnyDatastore {
    const chosen = DatastoreStore.of(this).defaultName() ?? this.configuredDefault;
    return (chosen !== undefined ? this.stores.get(chosen) : undefined) ?? this.stores.get(DEFAULT_DATASTORE)!;
  }

  getDatastore(name: string): AnyDatastore | undefined {
    return this.stores.get(name);
  }

  /** Every datastore of the workspace by name (the seeds' `ws.datastores`). */
  get datastores(): ReadonlyMap<string, AnyDatastore> {
    return new Map(this.stores);
  }

  /**
   * Registers a datastore by its settings and keeps them in the store (never a secret: a blob
   * datastore names the environment variable holding its credential). A blob container is
   * reached first, so wrong credentials or an unreachable account register nothing.
   */
  async registerDatastore(name: string, config: DatastoreConfig, options: { createIfNotExists?: boolean } = {}): Promise<AnyDatastore> {
    this.requireLocal(`registering datastore ${name}`);
    const problem = datastoreConfigProblem(name, config);
    if (problem) throw new DatastoreError(problem);
    if (name === DEFAULT_DATASTORE || this.configuredStores.has(name)) {
      throw new WorkspaceError({ reason: "datastore-name-taken", name, by: name === DEFAULT_DATASTORE ? "workspace" : "config" });
    }
    const store = this.makeDatastore(name, config);
    if (store instanceof AzureBlobDatastore) await store.verify(options);
    DatastoreStore.of(this).put(name, config);
    this.stores.set(name, store);
    return store;
  }

  /** Makes `name` the default datastore of this workspace (kept in the store). */
  setDefaultDatastore(name: string): void {
    if (!this.stores.has(name)) throw new DatastoreError({ reason: "datastore-unknown", name, known: [...this.stores.keys()] });
    DatastoreStore.of(this).setDefaultName(name);
  }

  private makeDatastore(name: string, config: DatastoreConfig): AnyDatastore {
    if (config.kind === "local") return new Datastore(name, resolve(this.root, config.path), this.datasetServices);
    return new AzureBlobDatastore(name, config, { cacheDir: join(this.dir, "remote"), statCache: this.statCache, datasets: this.datasetServices });
  }

  getComputeTarget(name: string): Compute | undefined {
    return this.targets.get(name)?.compute;
  }

  /**
   * The compute targets a step may name; undefined for a workspace that submits to a server,
   * whose steps name the server's targets, checked there when the run is submitted.
   */
  get computeTargetNames(): ReadonlySet<string> | undefined {
    return this.remote ? undefined : new Set(this.targets.keys());
  }

  /** The workspace's compute targets by name, with the settings each was made from. */
  get computeTargets(): ReadonlyMap<string, ComputeTargetConfig> {
    return new Map([...this.targets].map(([name, t]) => [name, t.config]));
  }

  /** Adds (or replaces) a compute target by its settings, as pipebook.json does (see ComputeTarget.attach). */
  attachCompute(name: string, config: ComputeTargetConfig): Compute {
    const compute = createCompute(name, config, this.computeContext);
    this.targets.set(name, { compute, config });
    return compute;
  }

  /**
   * Lets every target remove what steps of dead engines left behind (containers, jobs), after
   * recoverOrphanedRuns settled their runs. A target that cannot be reached now is left for
   * the next open.
   */
  async recoverTargets(): Promise<void> {
    const isActive = (stepRunId: string): boolean => {
      const status = this.runs.getStep(stepRunId)?.status;
      return status === "queued" || status === "running";
    };
    await Promise.all([...this.targets.values()].map((t) => t.compute.recover?.(isActive).catch(() => [])));
  }

  /**
   * Hashes a source folder and stores its files content-addressed in this workspace's blobs
   * (a module version's code, Module.ts): declarations reach the file system only through here.
   */
  snapshotSource(dir: string): Promise<SourceSnapshot> {
    return snapshotSource(dir, { cache: this.statCache, pool: this.hashPool }, this.blobs);
  }

  /** Refuses, in one sentence, what only a workspace on this machine can do when this one submits to a server. */
  requireLocal(action: string): void {
    if (this.remote) throw this.remote.localOnly(action);
  }

  async close(): Promise<void> {
    open.delete(this.remote ? `${this.dir}\u0000${this.remote.url}` : this.dir);
    await this.hashPool.close();
    this.db.close();
  }
}
