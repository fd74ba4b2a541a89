// `npm start`: the main job. Runs the iris example pipeline through the CLI on the embedded
// default workspace (./.pipebook, SQLite, local compute); run it twice to see every step reused.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const r = spawnSync(process.execPath, [join(root, "engine/bin/pipebook.js"), "run", join(root, "examples/iris/pipeline.ts"), ...process.argv.slice(2)], {
  stdio: "inherit",
  cwd: root,
});
process.exit(r.status ?? 1);
