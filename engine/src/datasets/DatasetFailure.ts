import { FailureError, unreachable, type PipebookErrorCode } from "../errors/PipebookError.js";

/**
 * Expected failures of declaring, registering and reading datasets, as data; `describeDatasetFailure`
 * words them. `where` is a file or path as a person reads it (`"a.csv" on datastore store`).
 */
export type DatasetFailure =
  | { readonly reason: "datastore-unknown"; readonly path: string; readonly datastore: string }
  | { readonly reason: "glob-invalid"; readonly where: string }
  | { readonly reason: "glob-folder-missing"; readonly where: string; readonly folder: string }
  | { readonly reason: "glob-matches-nothing"; readonly where: string }
  | { readonly reason: "path-missing"; readonly where: string }
  | { readonly reason: "folder-empty"; readonly where: string }
  | { readonly reason: "file-name-clash"; readonly rel: string }
  | { readonly reason: "columns-differ"; readonly where: string; readonly columns: readonly string[]; readonly first: readonly string[] }
  | { readonly reason: "row-width"; readonly where: string; readonly fields: number; readonly columns: number }
  | { readonly reason: "unreadable"; readonly where: string; readonly message: string }
  | { readonly reason: "column-unknown"; readonly op: string; readonly missing: readonly string[]; readonly columns: readonly string[] }
  | { readonly reason: "name-invalid"; readonly name: string }
  | { readonly reason: "content-changed"; readonly name: string; readonly latest: number }
  | { readonly reason: "filter-test-invalid"; readonly test: string }
  | { readonly reason: "count-invalid"; readonly op: string; readonly n: number }
  | { readonly reason: "no-paths" }
  | { readonly reason: "separator-invalid"; readonly separator: string }
  /** `version` as it was asked for: a number from the SDK and the CLI, the text of a URL from the REST API. */
  | { readonly reason: "version-unknown"; readonly name: string; readonly version: number | string | undefined; readonly latest: number }
  | { readonly reason: "dataset-unknown"; readonly name: string }
  | { readonly reason: "definition-datastore-unknown"; readonly datastore: string }
  /** A dataset declared on datastores made outside a workspace, read without `{ workspace }`. */
  | { readonly reason: "workspace-needed"; readonly datastores: readonly string[] };

export class DatasetError extends FailureError<DatasetFailure> {
  constructor(failure: DatasetFailure, options?: { cause?: unknown }) {
    super(datasetFailureCode(failure), failure, describeDatasetFailure(failure), [], options);
  }
}

function datasetFailureCode(f: DatasetFailure): PipebookErrorCode {
  return f.reason === "version-unknown" || f.reason === "dataset-unknown" || f.reason === "definition-datastore-unknown" ? "not-found" : "dataset-invalid";
}

const quoted = (names: readonly string[]): string => names.map((c) => `"${c}"`).join(", ");

export function describeDatasetFailure(f: DatasetFailure): string {
  switch (f.reason) {
    case "datastore-unknown":
      return `dataset path "${f.path}" names datastore "${f.datastore}", which this workspace does not have`;
    case "glob-invalid":
      return `dataset path ${f.where}: a glob may not start with ! or #`;
    case "glob-folder-missing":
      return `dataset path ${f.where}: its folder ${f.folder} does not exist`;
    case "glob-matches-nothing":
      return `dataset path ${f.where} matches no files`;
    case "path-missing":
      return `dataset path ${f.where} does not exist`;
    case "folder-empty":
      return `dataset folder ${f.where} holds no files`;
    case "file-name-clash":
      return `two dataset paths both hold a file named "${f.rel}"; give them different names or folders`;
    case "columns-differ":
      return `${f.where} has columns ${f.columns.join(", ")}; the dataset's first file has ${f.first.join(", ")}`;
    case "row-width":
      return `${f.where}: a row has ${f.fields} fields where the dataset has ${f.columns} columns`;
    case "unreadable":
      return `cannot read ${f.where}: ${f.message}`;
    case "column-unknown":
      return `${f.op} names column${f.missing.length > 1 ? "s" : ""} ${quoted(f.missing)}, which the dataset does not have (it has ${quoted(f.columns)})`;
    case "name-invalid":
      return `dataset name "${f.name}" must start with a letter or digit and hold only letters, digits, _ . - (at most 128)`;
    case "content-changed":
      return `dataset "${f.name}" is already registered (version ${f.latest}) with different content; pass createNewVersion: true to add version ${f.latest + 1}`;
    case "filter-test-invalid":
      return `filter test "${f.test}" must be one of == != < <= > >=`;
    case "count-invalid":
      return `${f.op}(${f.n}): the count must be a whole number ≥ 0`;
    case "no-paths":
      return "a dataset needs at least one [datastore, path]";
    case "separator-invalid":
      return `separator "${f.separator}" must be one character`;
    case "version-unknown":
      return `dataset "${f.name}" has no version ${f.version} (the latest is ${f.latest})`;
    case "dataset-unknown":
      return `no dataset named "${f.name}" is registered in this workspace`;
    case "definition-datastore-unknown":
      return `a dataset reads datastore "${f.datastore}", which this workspace does not have`;
    case "workspace-needed":
      return `a dataset on datastore ${f.datastores.join(", ")} is read through a workspace: pass { workspace } or use a datastore the workspace gives (Datastore.get)`;
    default:
      return unreachable(f);
  }
}
