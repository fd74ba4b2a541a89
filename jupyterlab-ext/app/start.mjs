#!/usr/bin/env node
/**
 * `npm start`: builds the workbench when its sources changed, starts it on 127.0.0.1 with a
 * fresh token, opens examples/ and prints the URL. Ctrl-C (SIGINT) or SIGTERM stops the Jupyter
 * server (and with it the kernels) and `pipebook serve`.
 *
 *   node jupyterlab-ext/app/start.mjs [--port 8888] [--root DIR] [--no-serve] [--api-url URL]
 *
 * --api-url connects the side panel to an existing pipebook server (token from
 * $PIPEBOOK_API_TOKEN) instead of starting `pipebook serve` here.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { ensureBuilt, isBuildCurrent } from "./build.mjs";
import { checkPrerequisites, launchWorkbench, repoRoot } from "./launch.mjs";

/** True when `pipebook.json` is in `dir` or a parent (what Workspace.fromConfig looks for). */
function hasWorkspaceConfig(dir) {
  for (let at = dir; ; at = path.dirname(at)) {
    if (existsSync(path.join(at, "pipebook.json"))) return true;
    if (path.dirname(at) === at) return false;
  }
}

function option(name) {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

if (!isBuildCurrent()) {
  console.log("pipebook workbench: building the lab (first start or sources changed)…");
  const ms = await ensureBuilt();
  if (ms > 0) console.log(`pipebook workbench: built in ${(ms / 1000).toFixed(1)} s`);
}
const rootDir = path.resolve(option("--root") ?? repoRoot);
const port = option("--port") === undefined ? 8888 : Number(option("--port"));
const verbose = process.argv.includes("--verbose");
// Signals are taken from here on: one that comes while the servers start stops them as soon as
// they are up (launchWorkbench owns the children until it returns).
let workbench;
let stopping = false;
const shutdown = async (signal) => {
  if (stopping) return;
  stopping = true;
  if (workbench === undefined) return; // handled once the launch returns
  console.log(`\npipebook workbench: ${signal}, stopping…`);
  await workbench.stop();
  process.exit(0);
};
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));

workbench = await launchWorkbench({
  rootDir,
  port,
  serve: !process.argv.includes("--no-serve"),
  api: option("--api-url") === undefined ? undefined : { url: option("--api-url"), token: process.env.PIPEBOOK_API_TOKEN ?? "" },
  log: (line) => {
    if (verbose) process.stderr.write(line);
  },
}).catch((error) => {
  if (stopping) process.exit(0); // a signal during start-up took the servers down with it
  // Say what is missing on this machine when that is the cause (checked only on failure:
  // importing jupyter_server costs a second on every start).
  const problems = checkPrerequisites();
  for (const problem of problems.length > 0 ? problems : [String(error instanceof Error ? error.message : error)]) {
    console.error(`pipebook workbench: ${problem}`);
  }
  console.error("pipebook workbench: run with --verbose to see the servers' output.");
  process.exit(1);
});

if (stopping) {
  await workbench.stop();
  process.exit(0);
}
const examples = existsSync(path.join(rootDir, "examples")) ? "tree/examples" : "";
const url = `${workbench.baseUrl}lab/${examples}?token=${workbench.token}`;
console.log(`pipebook workbench is running${workbench.apiUrl ? ` (pipebook serve at ${workbench.apiUrl})` : " (no pipebook serve: the side panel lists nothing)"}`);
console.log(`Open: ${url}`);
if (workbench.apiUrl !== undefined && !hasWorkspaceConfig(rootDir)) {
  console.log(
    `Note: no pipebook.json in ${rootDir} or above it: each notebook keeps its runs in a .pipebook folder beside it,\n` +
      "and the side panel (pipebook serve, started in the root) does not see them. An empty {} pipebook.json in the root makes one workspace.",
  );
}
console.log("Press Ctrl-C to stop.");
