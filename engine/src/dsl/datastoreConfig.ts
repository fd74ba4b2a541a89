import type { DatastoreConfigFailure } from "./DatastoreFailure.js";

/**
 * A named datastore's settings, as pipebook.json and `Datastore.register…` give them and the
 * store keeps them. Never a secret: credentials are named by the environment variable holding them.
 */
export type DatastoreConfig = LocalDatastoreConfig | AzureBlobDatastoreConfig;

export interface LocalDatastoreConfig {
  readonly kind: "local";
  /** The folder holding the files; relative paths are relative to the project folder. */
  readonly path: string;
}

export interface AzureBlobDatastoreConfig {
  readonly kind: "azure-blob";
  readonly accountName: string;
  readonly containerName: string;
  /** Blob service URL; default https://<accountName>.blob.core.windows.net (a connection string carries its own). */
  readonly endpoint?: string;
  /** Environment variable holding a connection string (the default credential: AZURE_STORAGE_CONNECTION_STRING). */
  readonly connectionStringEnv?: string;
  /** Environment variable holding the account key. */
  readonly accountKeyEnv?: string;
  /** Environment variable holding a SAS token. */
  readonly sasTokenEnv?: string;
}

export const DATASTORE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;

/** What is wrong with a datastore's settings, as data (DatastoreFailure words it), or undefined. */
export function datastoreConfigProblem(store: string, c: DatastoreConfig): DatastoreConfigFailure | undefined {
  if (!DATASTORE_NAME.test(store)) return { reason: "name-invalid", store };
  if (c.kind === "local") return c.path.trim() === "" ? { reason: "path-empty", store } : undefined;
  if (!/^[a-z0-9]{3,24}$/.test(c.accountName ?? "")) return { reason: "account-name-invalid", store, accountName: c.accountName };
  if (!CONTAINER_NAME.test(c.containerName ?? "")) return { reason: "container-name-invalid", store, containerName: c.containerName };
  const envs = [c.connectionStringEnv, c.accountKeyEnv, c.sasTokenEnv].filter((e) => e !== undefined);
  if (envs.length > 1) return { reason: "credential-envs-several", store };
  const bad = envs.find((e) => !ENV_NAME.test(e));
  if (bad !== undefined) return { reason: "env-name-invalid", store, env: bad };
  if (c.endpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(c.endpoint)) return { reason: "endpoint-invalid", store, endpoint: c.endpoint };
  // A connection string (named, or AZURE_STORAGE_CONNECTION_STRING by default) carries its own endpoint.
  if (c.endpoint !== undefined && c.accountKeyEnv === undefined && c.sasTokenEnv === undefined) return { reason: "endpoint-beside-connection-string", store };
  return undefined;
}
