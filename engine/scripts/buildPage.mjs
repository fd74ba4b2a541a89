#!/usr/bin/env node
/**
 * Bundles the studio page (src/server/web/app.ts, typed, importing the shared contract: status
 * table, graph layout and renderer) into src/server/web/app.js, which `pipebook serve` serves.
 * esbuild bundles from the TypeScript sources, so the page does not wait for `tsc -b`; tsc still
 * type-checks it (src/server/web/tsconfig.json). Takes well under a second: `npm test`,
 * `npm start` and `npm run build` run it every time, and the page's tests before they start.
 */
import { build } from "esbuild";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const engine = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const PAGE_BUNDLE = path.join(engine, "src", "server", "web", "app.js");

export async function buildPage() {
  await build({
    entryPoints: [path.join(engine, "src", "server", "web", "app.ts")],
    outfile: PAGE_BUNDLE,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    alias: { "pipebook/contract": path.join(engine, "src", "contract", "index.ts") },
    legalComments: "none",
    logLevel: "warning",
  });
}

// Run as the build's last step (npm run build, test, start, bench: after `tsc -b`), it also
// bundles the CLI's grammar from what tsc emitted (buildCli.mjs).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await buildPage();
  await (await import("./buildCli.mjs")).buildCli();
}
