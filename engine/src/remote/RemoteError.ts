import type { FailureCode } from "../contract/expectedFailure.js";
import { FailureError, unreachable, type PipebookErrorCode } from "../errors/PipebookError.js";

/** Why talking to a pipebook server failed, as data; the message is its one sentence. */
export type RemoteFailure =
  /** The server cannot be reached (down, wrong address). */
  | { readonly reason: "unreachable"; readonly server: string; readonly detail: string }
  /** 401: no token, or one the server does not know. */
  | { readonly reason: "unauthorized"; readonly server: string; readonly detail: string }
  /**
   * Any other refusal: the server's own sentence, and the data its error reply gave (`code` and
   * `serverReason`, the failure's reason on the server), so a caller switches on those as it
   * would on a local workspace's failure.
   */
  | { readonly reason: "refused"; readonly server: string; readonly status: number; readonly detail: string; readonly code?: FailureCode; readonly serverReason?: string }
  /** A 2xx reply that is not JSON or not the contract's shape (a server of another version, a proxy's page). */
  | { readonly reason: "reply-invalid"; readonly server: string; readonly detail: string }
  /** Something only a workspace on this machine can do, tried on one that submits to a server. */
  | { readonly reason: "local-only"; readonly server: string; readonly action: string }
  | { readonly reason: "config"; readonly detail: string };

function remoteFailureCode(f: RemoteFailure): PipebookErrorCode {
  switch (f.reason) {
    case "unreachable":
      return "server-unreachable";
    case "unauthorized":
      return "unauthorized";
    case "refused":
      // The server's code where it gave one: a remote workspace's failure reads as a local one's.
      return f.code ?? "server-refused";
    case "reply-invalid":
      return "server-refused";
    case "local-only":
      return "local-only";
    case "config":
      return "config-invalid";
    default:
      return unreachable(f);
  }
}

export function describeRemoteFailure(f: RemoteFailure): string {
  switch (f.reason) {
    case "unreachable":
      return `cannot reach the pipebook server at ${f.server} (${f.detail}): is \`pipebook serve\` running there?`;
    case "unauthorized":
      return `the pipebook server at ${f.server} refused the token (${f.detail}): set PIPEBOOK_TOKEN or pipebook.json "tokenFile" to a token it knows (pipebook token create on the server)`;
    case "refused":
      return f.detail;
    case "reply-invalid":
      return `the pipebook server at ${f.server}: ${f.detail}`;
    case "local-only":
      return `${f.action} needs a local workspace; this one submits to the pipebook server at ${f.server} (do it on the server, or without "server" in pipebook.json and PIPEBOOK_SERVER)`;
    case "config":
      return f.detail;
    default:
      return unreachable(f);
  }
}

/** Worded for a person: the CLI prints it, the notebook shows it without the engine's stack. */
export class RemoteError extends FailureError<RemoteFailure> {
  constructor(failure: RemoteFailure, options?: { cause?: unknown }) {
    super(remoteFailureCode(failure), failure, describeRemoteFailure(failure), [], options);
  }
}
