import { EXPECTED_FAILURE } from "../contract/expectedFailure.js";

/** Why talking to a pipebook server failed, as data; the message is its one sentence. */
export type RemoteFailure =
  /** The server cannot be reached (down, wrong address). */
  | { readonly reason: "unreachable"; readonly server: string; readonly detail: string }
  /** 401: no token, or one the server does not know. */
  | { readonly reason: "unauthorized"; readonly server: string; readonly detail: string }
  /** Any other refusal: the server's own sentence. */
  | { readonly reason: "refused"; readonly server: string; readonly status: number; readonly detail: string }
  /** Something only a workspace on this machine can do, tried on one that submits to a server. */
  | { readonly reason: "local-only"; readonly server: string; readonly action: string }
  | { readonly reason: "config"; readonly detail: string };

function sentence(f: RemoteFailure): string {
  switch (f.reason) {
    case "unreachable":
      return `cannot reach the pipebook server at ${f.server} (${f.detail}): is \`pipebook serve\` running there?`;
    case "unauthorized":
      return `the pipebook server at ${f.server} refused the token (${f.detail}): set PIPEBOOK_TOKEN or pipebook.json "tokenFile" to a token it knows (pipebook token create on the server)`;
    case "refused":
      return f.detail;
    case "local-only":
      return `${f.action} needs a local workspace; this one submits to the pipebook server at ${f.server} (do it on the server, or without "server" in pipebook.json and PIPEBOOK_SERVER)`;
    case "config":
      return f.detail;
  }
}

export class RemoteError extends Error {
  override readonly name = "RemoteError";
  /** Worded for a person: the CLI prints it, the notebook shows it without the engine's stack. */
  readonly [EXPECTED_FAILURE] = true;
  constructor(readonly failure: RemoteFailure, options?: { cause?: unknown }) {
    super(sentence(failure), options);
  }
}
