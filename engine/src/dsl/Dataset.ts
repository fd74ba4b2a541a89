import type { DatasetDefinition, DatasetLineage, DatasetVersion, FilterOp, TableFormat, TableTransform } from "../datasets/DatasetDefinition.js";
import type { DatasetProfile } from "../datasets/DatasetProfile.js";
import type { DatasetFile } from "../datasets/datasetFiles.js";
import type { Row } from "../datasets/readTable.js";
import type { DatasetServices, TableItem } from "../datasets/datasetServices.js";
import { DatasetError } from "../datasets/DatasetFailure.js";
import { DatastoreError } from "./DatastoreFailure.js";
import { asDigest, canonicalJson, type Digest } from "../fingerprint/digest.js";
import { checkDataName } from "./dataName.js";
import type { AnyDatastore } from "./Datastore.js";
import type { Workspace } from "../workspace/Workspace.js";

/** A dataset's files in reading order and the digest its readers are keyed on. */
export interface DatasetContentRef {
  readonly files: readonly DatasetFile[];
  readonly digest: Digest;
}

/** A file or folder on a datastore: `[store, "path/on/store"]`, as the seeds' `(datastore, path)`. */
export type DatasetPath = readonly [AnyDatastore, string];

export interface RegisterOptions {
  readonly name: string;
  readonly description?: string;
  /**
   * When the name exists with different content: true adds a version, false (the default)
   * refuses. The same content as the latest version always returns that version.
   */
  readonly createNewVersion?: boolean;
  /** @internal set by the engine when a step's output is registered on completion. */
  readonly lineage?: DatasetLineage;
}

/** Where a dataset's files come from: a workspace's datastores, or a registered version's snapshot. */
type Origin = { readonly kind: "datastores"; readonly stores: ReadonlyMap<string, AnyDatastore> } | { readonly kind: "version"; readonly ws: Workspace; readonly version: DatasetVersion };

const DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

abstract class BaseDataset {
  protected constructor(
    readonly definition: DatasetDefinition,
    protected readonly origin: Origin,
  ) {}

  /** The registered version this dataset is, or was derived from (by slicing a tabular one). */
  get basedOn(): { readonly name: string; readonly version: number } | undefined {
    return this.origin.kind === "version" ? { name: this.origin.version.name, version: this.origin.version.version } : undefined;
  }

  /** True when this is a registered version exactly (no slices added since). */
  get isRegistered(): boolean {
    return this.origin.kind === "version" && canonicalJson(this.origin.version.definition) === canonicalJson(this.definition);
  }

  /** Use as a step input under `name`: the step finds it at `PIPEBOOK_INPUT_<NAME>`. */
  asNamedInput(name: string): DatasetInput {
    return new DatasetInput(name, this as unknown as FileDataset | TabularDataset, "mount");
  }

  /**
   * Registers this dataset under a name: its files are snapshotted into the workspace, so a
   * version never changes afterwards, whatever happens to the datastore.
   */
  async register(ws: Workspace, options: RegisterOptions): Promise<this> {
    ws.requireLocal(`registering dataset "${options.name}"`);
    if (!DATASET_NAME.test(options.name)) throw new DatasetError({ reason: "name-invalid", name: options.name });
    const files = await this.files(ws);
    const content = await ws.datasetServices.hash(ws, this.definition, files);
    const manifest = await ws.datasetServices.snapshot(ws, files, content);
    const version = ws.datasets.addVersion(options.name, (latest) => {
      if (latest && latest.digest === content.digest) return latest;
      if (latest && !options.createNewVersion) {
        throw new DatasetError({ reason: "content-changed", name: options.name, latest: latest.version });
      }
      return {
        name: options.name, description: options.description ?? "", definition: this.definition, manifest, digest: content.digest,
        bytes: content.bytes, fileCount: files.length, createdAt: new Date().toISOString(), ...(options.lineage && { lineage: options.lineage }),
      };
    });
    return this.withOrigin({ kind: "version", ws, version }, version.definition);
  }

  /** The dataset's files in reading order, from its snapshot or its datastores. */
  async files(ws?: Workspace): Promise<DatasetFile[]> {
    const o = this.origin;
    if (o.kind === "version") return o.ws.datasetServices.versionFiles(o.ws, o.version);
    return this.services(ws).listFiles((name) => o.stores.get(name) ?? ws?.getDatastore(name), this.definition);
  }

  /**
   * What reads this dataset's files: its workspace's services, else those of the datastores it
   * was declared on (a workspace's datastores carry them), so declaring imports nothing that runs.
   */
  protected services(ws?: Workspace): DatasetServices {
    const o = this.origin;
    if (o.kind === "version") return o.ws.datasetServices;
    const services = ws?.datasetServices ?? [...o.stores.values()].find((store) => store.datasets)?.datasets;
    if (!services) throw new DatasetError({ reason: "workspace-needed", datastores: [...o.stores.keys()] });
    return services;
  }

  /** Checks, cheaply, what would fail a step later: every path exists (tabular: the columns its slices name). */
  async check(ws: Workspace): Promise<void> {
    await this.files(ws);
  }

  /**
   * What a step's key takes: the digest of the content with the reading options and transforms,
   * never a path or a time. A registered version knows it without reading its files.
   */
  async content(ws: Workspace): Promise<DatasetContentRef> {
    const o = this.origin;
    const files = await this.files(ws);
    const digest = o.kind === "version" && this.isRegistered ? asDigest(o.version.digest) : (await ws.datasetServices.hash(ws, this.definition, files)).digest;
    return { files, digest };
  }

  /** Where a step reads that content: laid out once per content, only for a step that runs. */
  layOut(ws: Workspace, content: DatasetContentRef): Promise<string> {
    return ws.datasetServices.materialize(ws, this.definition, content.files, content.digest);
  }

  protected abstract withOrigin(origin: Origin, definition: DatasetDefinition): this;
}

/** Files as they are: a step gets the file (one) or a folder of them (several). */
export class FileDataset extends BaseDataset {
  /** @internal use Dataset.File.fromFiles */
  constructor(definition: DatasetDefinition, origin: Origin) {
    super(definition, origin);
  }

  protected withOrigin(origin: Origin, definition: DatasetDefinition): this {
    return new FileDataset(definition, origin) as this;
  }
}

/** Delimited files read as one table; slices and filters are lazy and compose. */
export class TabularDataset extends BaseDataset {
  /** @internal use Dataset.Tabular.fromDelimitedFiles */
  constructor(definition: DatasetDefinition, origin: Origin) {
    super(definition, origin);
  }

  protected withOrigin(origin: Origin, definition: DatasetDefinition): this {
    return new TabularDataset(definition, origin) as this;
  }

  private with(t: TableTransform): TabularDataset {
    return new TabularDataset({ ...this.definition, transforms: [...this.definition.transforms, t] }, this.origin);
  }

  skip(n: number): TabularDataset {
    return this.with({ op: "skip", n: count("skip", n) });
  }
  take(n: number): TabularDataset {
    return this.with({ op: "take", n: count("take", n) });
  }
  keepColumns(columns: readonly string[]): TabularDataset {
    return this.with({ op: "keep-columns", columns: [...columns] });
  }
  dropColumns(columns: readonly string[]): TabularDataset {
    return this.with({ op: "drop-columns", columns: [...columns] });
  }
  /** Rows where `column test value` holds; numbers compare as numbers. */
  filter(column: string, test: FilterOp, value: string | number): TabularDataset {
    if (!["==", "!=", "<", "<=", ">", ">="].includes(test)) throw new DatasetError({ reason: "filter-test-invalid", test });
    return this.with({ op: "filter", column, test, value });
  }

  /** Reads only the header: the transforms' column names are checked against it. */
  override async check(ws: Workspace): Promise<void> {
    await this.take(0).toRecords({ workspace: ws });
  }

  /** Reads the rows (all, or the first `limit`); cells are strings as in the file. */
  async toRecords(options: { limit?: number; workspace?: Workspace } = {}): Promise<Row[]> {
    const source = options.limit === undefined ? this : this.take(options.limit);
    const rows: Row[] = [];
    for await (const item of await source.read(options.workspace)) if ("row" in item) rows.push(item.row);
    return rows;
  }

  /** Column types, counts, missing values, ranges, means and most common values, in one pass. */
  async profile(options: { workspace?: Workspace } = {}): Promise<DatasetProfile> {
    return this.services(options.workspace).profile(await this.read(options.workspace));
  }

  private async read(ws?: Workspace): Promise<AsyncIterable<TableItem>> {
    const files = await this.files(ws);
    return this.services(ws).readTable(files.map((f) => ({ path: f.abs, label: f.label })), this.definition.format!, this.definition.transforms);
  }
}

/** A dataset as a step input: by name, read in place (`asMount`) or as the step's own copy (`asDownload`). */
export class DatasetInput {
  readonly kind = "dataset" as const;

  constructor(
    readonly name: string,
    readonly dataset: FileDataset | TabularDataset,
    readonly mode: "mount" | "download",
  ) {
    checkDataName("dataset input", name);
  }

  /** The step gets its own copy in its working folder, which it may change. */
  asDownload(): DatasetInput {
    return new DatasetInput(this.name, this.dataset, "download");
  }

  /** The step reads the workspace's one read-only copy (the default; no copying). */
  asMount(): DatasetInput {
    return new DatasetInput(this.name, this.dataset, "mount");
  }
}

function count(what: string, n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new DatasetError({ reason: "count-invalid", op: what, n });
  return n;
}

function definitionOf(kind: "file" | "tabular", paths: DatasetPath | readonly DatasetPath[], format?: TableFormat): { definition: DatasetDefinition; origin: Origin } {
  const list = (isPath(paths) ? [paths] : paths) as readonly DatasetPath[];
  if (list.length === 0) throw new DatasetError({ reason: "no-paths" });
  const stores = new Map<string, AnyDatastore>();
  for (const [store, path] of list) {
    // Refuses paths that leave the datastore, now rather than at the run.
    if (store.kind === "local") store.resolve(path);
    else if (path.split("/").includes("..")) throw new DatastoreError({ reason: "path-leaves", store: store.name, path });
    stores.set(store.name, store);
  }
  return {
    definition: { kind, paths: list.map(([store, path]) => ({ datastore: store.name, path })), ...(format && { format }), transforms: [] },
    origin: { kind: "datastores", stores },
  };
}

function isPath(x: DatasetPath | readonly DatasetPath[]): x is DatasetPath {
  return typeof x[1] === "string";
}

/** The seeds' `Dataset.File.from_files`, `Dataset.Tabular.from_delimited_files` and `Dataset.get_by_name`. */
export const Dataset = {
  File: {
    fromFiles(paths: DatasetPath | readonly DatasetPath[]): FileDataset {
      const { definition, origin } = definitionOf("file", paths);
      return new FileDataset(definition, origin);
    },
  },
  Tabular: {
    fromDelimitedFiles(paths: DatasetPath | readonly DatasetPath[], options: { separator?: string; header?: boolean } = {}): TabularDataset {
      const separator = options.separator ?? ",";
      if (separator.length !== 1) throw new DatasetError({ reason: "separator-invalid", separator });
      const { definition, origin } = definitionOf("tabular", paths, { separator, header: options.header ?? true });
      return new TabularDataset(definition, origin);
    },
  },

  /** A registered version: the latest, or the one asked for. */
  getByName(ws: Workspace, name: string, options: { version?: number } = {}): FileDataset | TabularDataset {
    const store = ws.datasets;
    const v = options.version === undefined ? store.latest(name) : store.get(name, options.version);
    if (!v) {
      const latest = store.latest(name);
      throw new DatasetError(latest ? { reason: "version-unknown", name, version: options.version, latest: latest.version } : { reason: "dataset-unknown", name });
    }
    return fromVersion(ws, v, v.definition);
  },

  /** The latest version of every registered dataset, or every version of one, newest first. */
  list(ws: Workspace, options: { name?: string } = {}): DatasetVersion[] {
    return ws.datasets.list(options.name);
  },
};

/** A dataset read from a registered version's snapshot, with `definition` (its own, or with slices added). */
export function fromVersion(ws: Workspace, v: DatasetVersion, definition: DatasetDefinition): FileDataset | TabularDataset {
  const origin: Origin = { kind: "version", ws, version: v };
  return definition.kind === "tabular" ? new TabularDataset(definition, origin) : new FileDataset(definition, origin);
}

/** An unregistered dataset from its stored definition; its datastores are the workspace's. */
export function fromDefinition(ws: Workspace, definition: DatasetDefinition): FileDataset | TabularDataset {
  const stores = new Map<string, AnyDatastore>();
  for (const p of definition.paths) {
    const store = ws.getDatastore(p.datastore);
    if (!store) throw new DatasetError({ reason: "definition-datastore-unknown", datastore: p.datastore });
    stores.set(store.name, store);
  }
  const origin: Origin = { kind: "datastores", stores };
  return definition.kind === "tabular" ? new TabularDataset(definition, origin) : new FileDataset(definition, origin);
}
