import { FailureError, unreachable, type PipebookErrorCode } from "../errors/PipebookError.js";

/**
 * Expected failures of opening a workspace from pipebook.json and of registering datastores on
 * it, as data; `describeWorkspaceFailure` words them.
 */
export type WorkspaceFailure =
  /** pipebook.json defines a datastore under the workspace's own datastore's name. */
  | { readonly reason: "datastore-redefined"; readonly name: string }
  | { readonly reason: "default-datastore-unknown"; readonly name: string; readonly known: readonly string[] }
  /** Registering a datastore under a name the workspace itself or pipebook.json already gives one. */
  | { readonly reason: "datastore-name-taken"; readonly name: string; readonly by: "workspace" | "config" };

export class WorkspaceError extends FailureError<WorkspaceFailure> {
  constructor(failure: WorkspaceFailure) {
    super(workspaceFailureCode(failure), failure, describeWorkspaceFailure(failure));
  }
}

function workspaceFailureCode(f: WorkspaceFailure): PipebookErrorCode {
  switch (f.reason) {
    case "datastore-redefined":
    case "default-datastore-unknown":
      return "config-invalid";
    case "datastore-name-taken":
      return "datastore-error";
    default:
      return unreachable(f);
  }
}

export function describeWorkspaceFailure(f: WorkspaceFailure): string {
  switch (f.reason) {
    case "datastore-redefined":
      return `pipebook.json cannot redefine datastore ${f.name}, the workspace's own`;
    case "default-datastore-unknown":
      return `pipebook.json names defaultDatastore "${f.name}", which is not among its datastores (${f.known.join(", ")})`;
    case "datastore-name-taken":
      return `datastore ${f.name} is ${f.by === "workspace" ? "the workspace's own" : "defined by pipebook.json"}; register another name`;
    default:
      return unreachable(f);
  }
}
