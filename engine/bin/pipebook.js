#!/usr/bin/env node
// Committed shim so npm links the `pipebook` command even before the first build.
await import("../dist/cli/main.js");
