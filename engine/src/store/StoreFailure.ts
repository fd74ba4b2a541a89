import { FailureError, unreachable, type PipebookErrorCode } from "../errors/PipebookError.js";

/** Expected failures of opening a workspace's store, as data; `describeStoreFailure` words them. */
export type StoreFailure = { readonly reason: "schema-newer"; readonly file: string; readonly schema: number; readonly known: number };

export class StoreError extends FailureError<StoreFailure> {
  constructor(failure: StoreFailure) {
    super(storeFailureCode(failure), failure, describeStoreFailure(failure));
  }
}

function storeFailureCode(f: StoreFailure): PipebookErrorCode {
  switch (f.reason) {
    case "schema-newer":
      return "workspace-incompatible";
    default:
      return unreachable(f.reason);
  }
}

export function describeStoreFailure(f: StoreFailure): string {
  switch (f.reason) {
    case "schema-newer":
      return `this workspace was written by a newer pipebook (schema ${f.schema}, this one knows ${f.known}); upgrade pipebook`;
    default:
      return unreachable(f.reason);
  }
}
