/**
 * A dataset as data: where its files are and, for tabular ones, how to read and slice them.
 * Stored with registered versions and in pipeline specs, so a published pipeline reads the
 * same dataset without the user's TypeScript.
 */
export interface DatasetDefinition {
  readonly kind: "file" | "tabular";
  /** Files or folders on datastores, in order (tabular files are read one after the other). */
  readonly paths: readonly { readonly datastore: string; readonly path: string }[];
  /** Tabular only: how the delimited files are read. */
  readonly format?: TableFormat;
  /** Tabular only: lazy slices and filters, applied in order when rows are read. */
  readonly transforms: readonly TableTransform[];
}

export interface TableFormat {
  readonly separator: string;
  /** Whether the first line of every file names the columns; otherwise Column1, Column2, … */
  readonly header: boolean;
}

export type FilterOp = "==" | "!=" | "<" | "<=" | ">" | ">=";

export type TableTransform =
  | { readonly op: "skip"; readonly n: number }
  | { readonly op: "take"; readonly n: number }
  | { readonly op: "keep-columns"; readonly columns: readonly string[] }
  | { readonly op: "drop-columns"; readonly columns: readonly string[] }
  | { readonly op: "filter"; readonly column: string; readonly test: FilterOp; readonly value: string | number };

/** A registered version: immutable, its files snapshotted into the workspace's blob store. */
export interface DatasetVersion {
  readonly name: string;
  readonly version: number;
  readonly description: string;
  readonly definition: DatasetDefinition;
  /** Blob holding `{ files: [relative path, content digest][] }` of the snapshot. */
  readonly manifest: string;
  /** Content digest of the snapshot and the definition's reading options and transforms. */
  readonly digest: string;
  readonly bytes: number;
  readonly fileCount: number;
  readonly createdAt: string;
  /** The run and step whose output this version is (an OutputFileDatasetConfig registered on completion). */
  readonly lineage?: DatasetLineage;
}

export interface DatasetLineage {
  readonly runId: string;
  readonly experiment: string;
  readonly stepName: string;
  readonly stepRunId: string;
  readonly output: string;
  /** The datastore path the output was uploaded to. */
  readonly destination: { readonly datastore: string; readonly path: string };
}
