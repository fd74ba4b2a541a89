// `npm start`: the main job. Starts the workbench — JupyterLab with the pipebook extension and
// kernel, `pipebook serve` beside it — on 127.0.0.1 with a token, opened on examples/ (open
// examples/iris/iris.ipynb and run it), on the embedded default workspace (./.pipebook, SQLite,
// local compute). Ctrl-C stops everything. The same pipeline without a browser:
// `npx pipebook run examples/iris/pipeline.ts`.
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const child = spawn(process.execPath, [join(root, "jupyterlab-ext/app/start.mjs"), ...process.argv.slice(2)], { stdio: "inherit", cwd: root });
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => child.kill(sig));
child.once("exit", (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
