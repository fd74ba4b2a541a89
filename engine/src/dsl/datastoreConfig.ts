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

/** What is wrong with a datastore's settings, in one sentence, or undefined. */
export function datastoreConfigProblem(name: string, c: DatastoreConfig): string | undefined {
  if (!DATASTORE_NAME.test(name)) return `datastore name "${name}" must start with a letter or _ and hold only letters, digits and _`;
  if (c.kind === "local") return c.path.trim() === "" ? `datastore ${name}: path is empty` : undefined;
  if (!/^[a-z0-9]{3,24}$/.test(c.accountName ?? "")) return `datastore ${name}: accountName "${c.accountName}" must be 3–24 lowercase letters and digits`;
  if (!CONTAINER_NAME.test(c.containerName ?? "")) return `datastore ${name}: containerName "${c.containerName}" must be 3–63 lowercase letters, digits and single hyphens`;
  const envs = [c.connectionStringEnv, c.accountKeyEnv, c.sasTokenEnv].filter((e) => e !== undefined);
  if (envs.length > 1) return `datastore ${name}: give one of connectionStringEnv, accountKeyEnv, sasTokenEnv`;
  const bad = envs.find((e) => !ENV_NAME.test(e));
  if (bad !== undefined) return `datastore ${name}: "${bad}" is not an environment variable name (give the variable's name, never the secret itself)`;
  if (c.endpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(c.endpoint)) return `datastore ${name}: endpoint "${c.endpoint}" must be an http(s) URL`;
  // A connection string (named, or AZURE_STORAGE_CONNECTION_STRING by default) carries its own endpoint.
  if (c.endpoint !== undefined && c.accountKeyEnv === undefined && c.sasTokenEnv === undefined) {
    return `datastore ${name}: endpoint is taken from the connection string; give endpoint only with accountKeyEnv or sasTokenEnv`;
  }
  return undefined;
}
