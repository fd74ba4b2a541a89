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

function option(name) {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

const problems = checkPrerequisites();
if (problems.length > 0) {
  for (const problem of problems) console.error(`pipebook workbench: ${problem}`);
  process.exit(1);
}
if (!isBuildCurrent()) {
  console.log("pipebook workbench: building the lab (first start or sources changed)…");
  const ms = await ensureBuilt();
  if (ms > 0) console.log(`pipebook workbench: built in ${(ms / 1000).toFixed(1)} s`);
}
const rootDir = path.resolve(option("--root") ?? repoRoot);
const port = option("--port") === undefined ? 8888 : Number(option("--port"));
const verbose = process.argv.includes("--verbose");
const workbench = await launchWorkbench({
  rootDir,
  port,
  serve: !process.argv.includes("--no-serve"),
  api: option("--api-url") === undefined ? undefined : { url: option("--api-url"), token: process.env.PIPEBOOK_API_TOKEN ?? "" },
  log: (line) => {
    if (verbose) process.stderr.write(line);
  },
});
const examples = existsSync(path.join(rootDir, "examples")) ? "tree/examples" : "";
const url = `${workbench.baseUrl}lab/${examples}?token=${workbench.token}`;
console.log(`pipebook workbench is running${workbench.apiUrl ? ` (pipebook serve at ${workbench.apiUrl})` : " (no pipebook serve: the side panel lists nothing)"}`);
console.log(`Open: ${url}`);
console.log("Press Ctrl-C to stop.");

let stopping = false;
const shutdown = async (signal) => {
  if (stopping) return;
  stopping = true;
  console.log(`\npipebook workbench: ${signal}, stopping…`);
  await workbench.stop();
  process.exit(0);
};
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
