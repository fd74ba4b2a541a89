import type { AnyDatastore } from "../dsl/Datastore.js";
import type { Workspace } from "../workspace/Workspace.js";
import type { Digest } from "../fingerprint/digest.js";
import type { DatasetDefinition, DatasetVersion, TableFormat, TableTransform } from "./DatasetDefinition.js";
import type { DatasetProfile } from "./DatasetProfile.js";
import type { DatasetContent, DatasetFile } from "./datasetFiles.js";
import type { Row, TableFile } from "./readTable.js";

/** What reading a table yields: the column names first (after projections), then rows. */
export type TableItem = { readonly columns: readonly string[] } | { readonly row: Row };

/**
 * What a dataset declaration (dsl/Dataset.ts) asks of the engine: everything that reads files,
 * hashes, snapshots or lays out. The composition root (workspace/Workspace.ts) hands it to
 * declarations through the workspace and the datastores it makes, so `dsl/` imports none of
 * this folder's executing code (rule `dsl-declares-only` in .dependency-cruiser.cjs).
 */
export interface DatasetServices {
  /** The files a definition names on its datastores, in reading order; a missing path is a DatasetError. */
  readonly listFiles: (datastores: (name: string) => AnyDatastore | undefined, definition: DatasetDefinition) => Promise<DatasetFile[]>;
  /** The content digest of the files with the definition's reading options (stat-cached). */
  readonly hash: (ws: Workspace, definition: DatasetDefinition, files: readonly DatasetFile[]) => Promise<DatasetContent>;
  /** Copies the files into the workspace's blob store; returns the manifest's digest. */
  readonly snapshot: (ws: Workspace, files: readonly DatasetFile[], content: DatasetContent) => Promise<Digest>;
  /** A registered version's files, read from its snapshot. */
  readonly versionFiles: (ws: Workspace, version: DatasetVersion) => Promise<DatasetFile[]>;
  /** Lays the content out, once, where steps read it; returns the path a step gets. */
  readonly materialize: (ws: Workspace, definition: DatasetDefinition, files: readonly DatasetFile[], digest: Digest) => Promise<string>;
  /** Streams the rows of delimited files with the transforms applied. */
  readonly readTable: (files: readonly TableFile[], format: TableFormat, transforms: readonly TableTransform[]) => AsyncIterable<TableItem>;
  /** Column types, counts, missing values, ranges and most common values, in one pass. */
  readonly profile: (source: AsyncIterable<TableItem>) => Promise<DatasetProfile>;
}

// Each loads its module on first use: every workspace and datastore holds these, and most runs
// (a pipeline with no dataset, a no-op rerun) call none of them.
const files = (): Promise<typeof import("./datasetFiles.js")> => import("./datasetFiles.js");

export const DATASET_SERVICES: DatasetServices = {
  listFiles: async (datastores, definition) => (await files()).listDatasetFiles(datastores, definition),
  hash: async (ws, definition, list) => (await files()).hashDataset(ws, definition, list),
  snapshot: async (ws, list, content) => (await files()).snapshotDataset(ws, list, content),
  versionFiles: async (ws, version) => (await files()).versionFiles(ws, version),
  materialize: async (ws, definition, list, digest) => (await files()).materializeDataset(ws, definition, list, digest),
  readTable: async function* (list, format, transforms) {
    yield* (await import("./readTable.js")).readTable(list, format, transforms);
  },
  profile: async (source) => (await import("./DatasetProfile.js")).DatasetProfile.of(source),
};
