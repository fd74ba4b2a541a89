import { FailureError, unreachable, type PipebookErrorCode } from "../errors/PipebookError.js";

/** An Azure blob container as failures name it. */
export interface BlobService {
  readonly store: string;
  readonly account: string;
  readonly container: string;
}

/**
 * Expected failures of datastores (local folders and Azure blob containers) and transfers between
 * them, as data; `describeDatastoreFailure` words them. The same failure reads the same on either
 * kind of datastore.
 */
export type DatastoreFailure =
  | DatastoreConfigFailure
  | { readonly reason: "datastore-unknown"; readonly name: string; readonly known: readonly string[] }
  | { readonly reason: "path-absolute"; readonly store: string; readonly path: string }
  | { readonly reason: "path-leaves"; readonly store: string; readonly path: string }
  | { readonly reason: "nothing-at"; readonly store: string; readonly path: string }
  | { readonly reason: "already-has"; readonly store: string; readonly path: string }
  | { readonly reason: "write-through-link"; readonly store: string; readonly path: string }
  | { readonly reason: "upload-file-missing"; readonly file: string }
  | { readonly reason: "upload-folder-missing"; readonly dir: string }
  | { readonly reason: "upload-to-root"; readonly store: string; readonly dir: string }
  | { readonly reason: "upload-link"; readonly dir: string; readonly link: string }
  | { readonly reason: "download-target-exists"; readonly dest: string }
  | { readonly reason: "transfer-to-root"; readonly store: string }
  | { readonly reason: "no-local-path"; readonly store: string; readonly reference: string }
  | { readonly reason: "secret-passed"; readonly store: string; readonly key: string }
  | { readonly reason: "env-unset"; readonly store: string; readonly what: string; readonly env: string }
  | { readonly reason: "connection-string-invalid"; readonly store: string; readonly env: string; readonly message: string }
  | { readonly reason: "connection-string-account"; readonly store: string; readonly env: string; readonly accountName: string; readonly named: string }
  | { readonly reason: "container-missing"; readonly service: BlobService }
  | { readonly reason: "container-gone"; readonly service: BlobService }
  | { readonly reason: "content-changed"; readonly store: string; readonly blob: string }
  | { readonly reason: "credentials-refused"; readonly service: BlobService; readonly action: string; readonly code: string }
  | { readonly reason: "service-unreachable"; readonly service: BlobService; readonly action: string; readonly message: string }
  | { readonly reason: "service-failed"; readonly service: BlobService; readonly action: string; readonly message: string };

/** What is wrong with a datastore's settings (`datastoreConfigProblem`), refused before anything is reached. */
export type DatastoreConfigFailure =
  | { readonly reason: "name-invalid"; readonly store: string }
  | { readonly reason: "path-empty"; readonly store: string }
  | { readonly reason: "account-name-invalid"; readonly store: string; readonly accountName: string | undefined }
  | { readonly reason: "container-name-invalid"; readonly store: string; readonly containerName: string | undefined }
  | { readonly reason: "credential-envs-several"; readonly store: string }
  | { readonly reason: "env-name-invalid"; readonly store: string; readonly env: string }
  | { readonly reason: "endpoint-invalid"; readonly store: string; readonly endpoint: string }
  | { readonly reason: "endpoint-beside-connection-string"; readonly store: string };

export class DatastoreError extends FailureError<DatastoreFailure> {
  constructor(failure: DatastoreFailure, options?: { cause?: unknown }) {
    super(datastoreFailureCode(failure), failure, describeDatastoreFailure(failure), [], options);
  }
}

function datastoreFailureCode(f: DatastoreFailure): PipebookErrorCode {
  // Nothing at a path is what readers (datasets, steps' inputs) tell apart from other trouble.
  if (f.reason === "datastore-unknown") return "not-found";
  return f.reason === "nothing-at" ? "source-missing" : "datastore-error";
}

const where = (s: BlobService): string => `datastore ${s.store} (account ${s.account}, container ${s.container})`;

export function describeDatastoreFailure(f: DatastoreFailure): string {
  switch (f.reason) {
    case "name-invalid":
      return `datastore name "${f.store}" must start with a letter or _ and hold only letters, digits and _`;
    case "path-empty":
      return `datastore ${f.store}: path is empty`;
    case "account-name-invalid":
      return `datastore ${f.store}: accountName "${f.accountName}" must be 3–24 lowercase letters and digits`;
    case "container-name-invalid":
      return `datastore ${f.store}: containerName "${f.containerName}" must be 3–63 lowercase letters, digits and single hyphens`;
    case "credential-envs-several":
      return `datastore ${f.store}: give one of connectionStringEnv, accountKeyEnv, sasTokenEnv`;
    case "env-name-invalid":
      return `datastore ${f.store}: "${f.env}" is not an environment variable name (give the variable's name, never the secret itself)`;
    case "endpoint-invalid":
      return `datastore ${f.store}: endpoint "${f.endpoint}" must be an http(s) URL`;
    case "endpoint-beside-connection-string":
      return `datastore ${f.store}: endpoint is taken from the connection string; give endpoint only with accountKeyEnv or sasTokenEnv`;
    case "datastore-unknown":
      return `this workspace has no datastore named "${f.name}" (it has ${f.known.join(", ")})`;
    case "path-absolute":
      return `path "${f.path}" on datastore ${f.store} must be relative`;
    case "path-leaves":
      return `path "${f.path}" leaves datastore ${f.store}`;
    case "nothing-at":
      return `datastore ${f.store} has nothing at "${f.path}"`;
    case "already-has":
      return `datastore ${f.store} already has "${f.path}"; pass overwrite: true to replace it`;
    case "write-through-link":
      return `cannot write "${f.path}" on datastore ${f.store}: the path goes through a link that leads out of the datastore`;
    case "upload-file-missing":
      return `cannot upload ${f.file}: no such file`;
    case "upload-folder-missing":
      return `cannot upload ${f.dir}: no such folder`;
    case "upload-to-root":
      return `cannot upload ${f.dir} to the root of datastore ${f.store}: that would replace everything on it; give a targetPath folder`;
    case "upload-link":
      return `cannot upload ${f.dir}: "${f.link}" is a symbolic link; uploads copy files, not links (copy what it points to into the folder)`;
    case "download-target-exists":
      return `${f.dest} exists; pass overwrite: true to replace it`;
    case "transfer-to-root":
      return `cannot transfer to the root of datastore ${f.store}: give a destination path`;
    case "no-local-path":
      return `DataReference "${f.reference}" is on blob datastore ${f.store}, which has no path on this machine; give it to a step as an input (the step reads a copy) or download it`;
    case "secret-passed":
      return `datastore ${f.store}: pass ${f.key}Env, the name of an environment variable holding the ${f.key}, not the secret itself (pipebook never stores a secret)`;
    case "env-unset":
      return `datastore ${f.store} reads its ${f.what} from the environment variable ${f.env}, which is not set`;
    case "connection-string-invalid":
      return `datastore ${f.store}: the connection string in ${f.env} is not one (${f.message})`;
    case "connection-string-account":
      return `datastore ${f.store}: the connection string in ${f.env} is for account ${f.named}, not accountName ${f.accountName}`;
    case "container-missing":
      return `datastore ${f.service.store}: account ${f.service.account} has no container "${f.service.container}" (pass createIfNotExists: true to make it)`;
    case "container-gone":
      return `${where(f.service)}: the container does not exist`;
    case "content-changed":
      return `datastore ${f.store}: "${f.blob}" arrived with content other than its Content-MD5 says (changed while being read?); run again`;
    case "credentials-refused":
      return `${where(f.service)} refused the credentials: could not ${f.action} (${f.code}); check the key or connection string in the environment`;
    case "service-unreachable":
      return `${where(f.service)} cannot be reached: could not ${f.action} (${f.message})`;
    case "service-failed":
      return `${where(f.service)}: could not ${f.action}: ${f.message}`;
    default:
      return unreachable(f);
  }
}
