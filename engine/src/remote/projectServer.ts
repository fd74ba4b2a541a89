import { readFileSync } from "node:fs";
import { locateWorkspace } from "../workspace/locateWorkspace.js";
import type { RemoteServer } from "./RemoteServer.js";

/**
 * The server the project in `from` submits to (PIPEBOOK_SERVER, else pipebook.json "server"),
 * or undefined, for commands that do not open the workspace. Only a project that names one loads
 * the REST client: a local `pipebook runs` stays as quick as it was.
 */
export async function projectServer(from: string = process.cwd()): Promise<RemoteServer | undefined> {
  const { configFile, root } = locateWorkspace(from);
  if (!(process.env["PIPEBOOK_SERVER"]?.trim() || (configFile !== undefined && namesServer(configFile)))) return undefined;
  const { remoteOfProject } = await import("./remoteConfig.js");
  return remoteOfProject(configFile, root);
}

function namesServer(configFile: string): boolean {
  try {
    return typeof (JSON.parse(readFileSync(configFile, "utf8")) as { server?: unknown } | null)?.server === "string";
  } catch {
    return false;
  }
}
