import { FailureError, unreachable } from "../errors/PipebookError.js";

/**
 * Expected failures of reading a dataset's files and rows, as data; `describeDatasetFailure`
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
  | { readonly reason: "column-unknown"; readonly op: string; readonly missing: readonly string[]; readonly columns: readonly string[] };

export class DatasetError extends FailureError<DatasetFailure> {
  constructor(failure: DatasetFailure, options?: { cause?: unknown }) {
    super("dataset-invalid", failure, describeDatasetFailure(failure), [], options);
  }
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
    default:
      return unreachable(f);
  }
}
