/**
 * TypeScript for the compiler thread. Loading its 9 MB bundle costs most of a kernel's first cell:
 * importing it from ESM makes Node scan it for named exports, and V8 compiles it from scratch each
 * time. So it is required directly, through a V8 code cache kept in the user's cache folder
 * (written after the warm-up check, so it also holds the functions that check compiled).
 */
import { createRequire } from "node:module";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import vm from "node:vm";
import type * as TS from "typescript";
import { log } from "../log.js";

const require = createRequire(import.meta.url);
const path = require.resolve("typescript");
let script: vm.Script | undefined;
let cacheFile: string | undefined;
let cacheUsed = false;

function load(): typeof TS {
  try {
    const version = (JSON.parse(readFileSync(join(dirname(path), "..", "package.json"), "utf8")) as { version: string }).version;
    const dir = process.env["PIPEBOOK_CACHE_DIR"] ?? join(process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "pipebook");
    cacheFile = join(dir, `typescript-${version}-node${process.versions.v8}.v8cache`);
    let cachedData: Buffer | undefined;
    try { cachedData = readFileSync(cacheFile); } catch { cachedData = undefined; }
    const source = readFileSync(path, "utf8");
    script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
      filename: path, ...(cachedData ? { cachedData } : {}),
    });
    cacheUsed = cachedData !== undefined && !script.cachedDataRejected;
    const fn = script.runInThisContext() as (e: object, r: NodeRequire, m: { exports: object }, f: string, d: string) => void;
    const mod = { exports: {} };
    fn.call(mod.exports, mod.exports, createRequire(path), mod, path, dirname(path));
    return mod.exports as typeof TS;
  } catch (e) {
    log("compiler", `loading TypeScript with a code cache failed (${String(e)}); plain require`);
    script = undefined;
    return require("typescript") as typeof TS;
  }
}

export const ts = load();
export type { TS };

/** Writes the code cache once, if it was missing or stale. Failures only cost speed. */
export function saveCompileCache(): void {
  if (!script || !cacheFile || cacheUsed) return;
  try {
    mkdirSync(dirname(cacheFile), { recursive: true });
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, cacheFile);
    cacheUsed = true;
  } catch (e) {
    log("compiler", `could not write the TypeScript code cache: ${String(e)}`);
  }
}
