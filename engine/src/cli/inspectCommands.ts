import { projectServer } from "../remote/projectServer.js";

/**
 * `pipebook runs`, `show`, `logs` and `why`: a project that submits to a server (pipebook.json
 * "server", PIPEBOOK_SERVER) asks it (remoteCommands.ts), any other reads its local run history
 * (inspectLocal.ts). Where the CLI bundles are current, this module and the local side are one
 * CommonJS file, dist/cli/inspect.bundle.cjs (engine/scripts/buildCli.mjs), and the remote side
 * is imported from its own files when it is taken.
 */
const remote = (): Promise<typeof import("./remoteCommands.js")> => import("./remoteCommands.js");
const local = (): Promise<typeof import("./inspectLocal.js")> => import("./inspectLocal.js");

export async function runsCommand(options: { experiment?: string; limit: number }): Promise<void> {
  const s = await projectServer();
  return s ? (await remote()).remoteRuns(s, options) : (await local()).localRuns(options);
}

export async function showCommand(id: string): Promise<void> {
  const s = await projectServer();
  return s ? (await remote()).remoteShow(s, id) : (await local()).localShow(id);
}

export async function logsCommand(id: string, stepName: string | undefined): Promise<void> {
  const s = await projectServer();
  return s ? (await remote()).remoteLogs(s, id, stepName) : (await local()).localLogs(id, stepName);
}

export async function whyCommand(id: string, stepName: string): Promise<void> {
  const s = await projectServer();
  return s ? (await remote()).remoteWhy(s, id, stepName) : (await local()).localWhy(id, stepName);
}
