#!/usr/bin/env node
// Committed shim so npm links the `pipebook` command even before the first build.
//
// It loads the CLI's grammar bundled with commander (dist/cli/main.bundle.js, engine/scripts/
// buildCli.mjs) while the files it was built from are unchanged, else dist/cli/main.js, which is
// the same program in separate files. PIPEBOOK_CLI_BUNDLE=0 always takes the separate files.
import { readFileSync, statSync } from "node:fs";

const cli = new URL("../dist/cli/", import.meta.url);

/** Whether the bundle was built from the files dist/cli/ and commander have now (size and mtime of each). */
function bundleIsCurrent() {
  if (process.env.PIPEBOOK_CLI_BUNDLE === "0") return false;
  try {
    const { inputs } = JSON.parse(readFileSync(new URL("main.bundle.json", cli), "utf8"));
    for (const [file, [size, mtimeMs]] of Object.entries(inputs)) {
      const st = statSync(new URL(file, cli), { throwIfNoEntry: false });
      if (st === undefined || st.size !== size || st.mtimeMs !== mtimeMs) return false;
    }
    return true;
  } catch {
    // No bundle built (or an unreadable manifest): the separate files.
    return false;
  }
}

await import(bundleIsCurrent() ? "../dist/cli/main.bundle.js" : "../dist/cli/main.js");
