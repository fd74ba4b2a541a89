import type { Datastore } from "../datastores/Datastore.js";
import type { AzureBlobDatastore } from "../datastores/AzureBlobDatastore.js";
import type { AzureBlobDatastoreConfig } from "./datastoreConfig.js";

// What a declaration knows of datastores: their types. Both kinds, and their transfers, are
// datastores/ (the local folder kind: datastores/Datastore.ts), made by the workspace.

export interface UploadOptions {
  /** Folder on the datastore to put the files in ("" = the datastore root). */
  readonly targetPath?: string;
  /** Replace files that are already there; without it an existing file is an error. */
  readonly overwrite?: boolean;
  /** Told how far each file's transfer is (a blob datastore: per 4 MiB block; a local one: once, when copied). */
  readonly onProgress?: (p: TransferProgress) => void;
  /** Prints a line per tenth of each file transferred on stderr. */
  readonly showProgress?: boolean;
}

export interface TransferProgress {
  readonly path: string;
  readonly loadedBytes: number;
  readonly totalBytes: number;
}

/** Either kind of datastore: a local folder (`Datastore`) or an Azure Blob container (`AzureBlobDatastore`). */
export type AnyDatastore = Datastore | AzureBlobDatastore;

/** The seeds' `register_azure_blob_container` options; credentials only by environment variable name. */
export interface AzureBlobContainerOptions extends Omit<AzureBlobDatastoreConfig, "kind"> {
  readonly name: string;
  /** Make the container when it is not there (default: a missing container is an error). */
  readonly createIfNotExists?: boolean;
}

