// `npm run bench`: runs every bench/*.bench.mjs in its own process (one at a time, so they do
// not compete for the two cores), each printing one JSON object on its last stdout line, and
// merges them into bench/results.json keyed by bench name.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const resultsFile = join(here, "results.json");
const results = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, "utf8")) : {};
let failed = false;
for (const file of readdirSync(here).filter((f) => f.endsWith(".bench.mjs")).sort()) {
  const name = file.replace(/\.bench\.mjs$/, "");
  if (only.length > 0 && !only.includes(name)) continue;
  console.log(`\n== bench ${name}`);
  const r = spawnSync(process.execPath, [join(here, file)], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", maxBuffer: 64 << 20 });
  process.stdout.write(r.stdout);
  const last = r.stdout.trim().split("\n").pop() ?? "";
  try {
    if (r.status !== 0) throw new Error(`exit ${r.status}`);
    results[name] = { ...JSON.parse(last), measuredAt: new Date().toISOString() };
  } catch (err) {
    failed = true;
    console.error(`bench ${name} failed: ${err.message}`);
  }
}
writeFileSync(resultsFile, JSON.stringify(results, null, 2) + "\n");
console.log(`\nresults written to ${resultsFile}`);
process.exit(failed ? 1 : 0);
