import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { RemoteError } from "./RemoteError.js";
import { RemoteServer } from "./RemoteServer.js";

/** What names a server: `Workspace.fromConfig({server})`, else PIPEBOOK_SERVER, else pipebook.json "server". */
export interface RemoteChoice {
  readonly server?: string | undefined;
  /** pipebook.json's "server" and "tokenFile" (a path relative to the project folder). */
  readonly config?: { readonly server?: string | undefined; readonly tokenFile?: string | undefined };
  readonly root: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The server a workspace submits to, or undefined for a local workspace. The token comes from
 * PIPEBOOK_TOKEN or the file pipebook.json's "tokenFile" names, never from the notebook or
 * script, so it is not saved with them.
 */
export function chooseRemote(choice: RemoteChoice): RemoteServer | undefined {
  const env = choice.env ?? process.env;
  const url = choice.server ?? nonEmpty(env["PIPEBOOK_SERVER"]) ?? choice.config?.server;
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RemoteError({ reason: "config", detail: `the pipebook server "${url}" is not a URL (expected http://host:port)` });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new RemoteError({ reason: "config", detail: `the pipebook server "${url}" must be an http:// or https:// URL` });
  const fromEnv = nonEmpty(env["PIPEBOOK_TOKEN"]);
  if (fromEnv !== undefined) return new RemoteServer(url, fromEnv, "PIPEBOOK_TOKEN");
  const file = choice.config?.tokenFile;
  if (file === undefined) throw new RemoteError({ reason: "config", detail: `submitting to the pipebook server at ${url} needs a token: set PIPEBOOK_TOKEN, or name a file holding it in pipebook.json "tokenFile"` });
  const path = isAbsolute(file) ? file : resolve(choice.root, file);
  let token: string;
  try {
    token = readFileSync(path, "utf8").trim();
  } catch (err) {
    throw new RemoteError({ reason: "config", detail: `cannot read the token file ${path} that pipebook.json "tokenFile" names: ${(err as Error).message}` });
  }
  if (token.length === 0) throw new RemoteError({ reason: "config", detail: `the token file ${path} is empty` });
  return new RemoteServer(url, token, `tokenFile ${path}`);
}

/**
 * The server the project in `from` submits to, read without opening the workspace (for
 * `pipebook runs`, `show`, `logs`, `why`, `cancel`): PIPEBOOK_SERVER or pipebook.json "server".
 */
export function remoteOfProject(configFile: string | undefined, root: string): RemoteServer | undefined {
  let config: { server?: string; tokenFile?: string } | undefined;
  if (configFile !== undefined) {
    try {
      const raw = JSON.parse(readFileSync(configFile, "utf8")) as { server?: unknown; tokenFile?: unknown } | null;
      config = {
        ...(typeof raw?.server === "string" && { server: raw.server }),
        ...(typeof raw?.tokenFile === "string" && { tokenFile: raw.tokenFile }),
      };
    } catch {
      // Unreadable: the commands that open the workspace say what is wrong with it.
    }
  }
  return chooseRemote({ root, ...(config && { config }) });
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s.trim() === "" ? undefined : s.trim();
}
