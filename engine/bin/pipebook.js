#!/usr/bin/env node
// Committed shim so npm links the `pipebook` command even before the first build.
//
// CommonJS (engine/bin/package.json), as are the bundles it loads: an ES module anywhere starts
// Node's ES module loader, ~40 modules of Node's own, before a line of pipebook runs
// (docs/startup.md). It loads the CLI's grammar bundled with commander (dist/cli/main.bundle.cjs,
// engine/scripts/buildCli.mjs) while the files the bundles were built from are unchanged, else
// dist/cli/main.js, which is the same program in separate ES modules. PIPEBOOK_CLI_BUNDLE=0
// always takes the separate files.
"use strict";
const { readFileSync, renameSync, rmSync, statSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");

const cli = join(__dirname, "..", "dist", "cli");

/**
 * Whether the bundles were built from the files dist/ and the bundled packages hold now: each
 * input's size, and its mtime or, where only that moved (`tsc -b` writes unchanged files again),
 * its SHA-256. A file found unchanged that way gets its new mtime in the manifest, so only one
 * process hashes it (node:crypto alone is ~20 ms of CPU here).
 */
function bundleIsCurrent() {
  if (process.env.PIPEBOOK_CLI_BUNDLE === "0") return false;
  const manifestFile = join(cli, "main.bundle.json");
  try {
    const manifest = JSON.parse(readFileSync(manifestFile, "utf8"));
    let moved = false;
    for (const [file, entry] of Object.entries(manifest.inputs)) {
      const [size, mtimeMs, sha256] = entry;
      const path = join(cli, file);
      const st = statSync(path, { throwIfNoEntry: false });
      if (st === undefined || st.size !== size) return false;
      if (st.mtimeMs === mtimeMs) continue;
      if (require("node:crypto").createHash("sha256").update(readFileSync(path)).digest("hex") !== sha256) return false;
      entry[1] = st.mtimeMs;
      moved = true;
    }
    if (moved) refreshManifest(manifestFile, manifest);
    return true;
  } catch {
    // No bundle built (or an unreadable manifest): the separate files.
    return false;
  }
}

/** Writes the manifest with the mtimes found unchanged; a folder this user cannot write keeps the old one. */
function refreshManifest(manifestFile, manifest) {
  const tmp = `${manifestFile}.${process.pid}`;
  try {
    writeFileSync(tmp, `${JSON.stringify(manifest)}\n`);
    renameSync(tmp, manifestFile);
  } catch {
    rmSync(tmp, { force: true });
  }
}

if (bundleIsCurrent()) {
  require(join(cli, "main.bundle.cjs"));
} else {
  import("../dist/cli/main.js").catch((err) => {
    process.stderr.write(`pipebook: cannot load the CLI (is engine/ built? npm run build): ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(3);
  });
}
