import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pipebook, pipelineProject } from "./helpers.js";

// The pipeline file looks, while it loads, for a step launcher among the children of the process
// loading it (its cmdline names launcherProcess.js; as root it is unshare's exec, still a child).
// Without the early warm-up the launcher starts at submit, after the file has loaded, so the file
// finds none however long it looks (it gives up after 60 s).
const pipelineFile = `
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { CommandStep, Pipeline, Workspace } from "pipebook";
const launcherChild = (): boolean => readdirSync("/proc").some((p) => {
  if (!/^\\d+$/.test(p)) return false;
  try {
    const ppid = Number(readFileSync(\`/proc/\${p}/stat\`, "utf8").split(") ")[1]!.split(" ")[1]);
    return ppid === process.pid && readFileSync(\`/proc/\${p}/cmdline\`, "utf8").includes("launcherProcess.js");
  } catch {
    return false;
  }
});
let found = launcherChild();
for (let i = 0; i < 600 && !found; i++) {
  await new Promise((r) => setTimeout(r, 100));
  found = launcherChild();
}
writeFileSync("launcher-while-loading.txt", found ? "found" : "none");
const ws = await Workspace.fromConfig();
export const pipeline = new Pipeline(ws, { steps: [new CommandStep({ name: "s", command: "true" })] });
`;

let dir: string;
beforeAll(async () => {
  dir = await pipelineProject("warm", { "p.ts": pipelineFile });
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe("pipebook run --regenerate", { timeout: 120_000 }, () => {
  it("starts the step launcher while the pipeline file loads, and the run completes", async () => {
    const r = await pipebook(dir, "run", "p.ts", "-q", "--regenerate");
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await readFile(join(dir, "launcher-while-loading.txt"), "utf8")).toBe("found");
  });
});
