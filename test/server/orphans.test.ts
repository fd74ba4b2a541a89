import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../engine/helpers.js";
import { serverSandbox, type ServerSandbox } from "./helpers.js";

let s: ServerSandbox;
beforeAll(async () => (s = await serverSandbox()));
afterAll(async () => s?.close());

describe("runs of engines that died", () => {
  it("end for a live viewer within seconds, without anyone opening the workspace again", async () => {
    // Another process (a `pipebook run`, a kernel) runs a long step on the server's workspace.
    await s.sb.write("engine.mjs", [
      `import { CommandStep, Experiment, Pipeline, Workspace } from ${JSON.stringify(join(REPO, "engine", "dist", "index.js"))};`,
      `const ws = await Workspace.fromConfig({ path: ${JSON.stringify(s.sb.dir)} });`,
      `const run = await new Experiment(ws, "orphan").submit(new Pipeline(ws, { steps: [new CommandStep({ name: "long", command: "sleep 120", allowReuse: false })] }));`,
      "console.log(run.id);",
      "await run.waitForCompletion();",
    ].join("\n"));
    const engine = spawn(process.execPath, [join(s.sb.dir, "engine.mjs")], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    engine.stdout.on("data", (c: Buffer) => (out += c.toString()));
    await expect.poll(() => out.trim(), { timeout: 30_000 }).not.toBe("");
    const runId = out.trim();
    const status = async () => ((await s.call("GET", `/runs/${runId}`, { token: s.tokens.read })).body as { status: string }).status;
    await expect.poll(status, { timeout: 30_000 }).toBe("running");
    engine.kill("SIGKILL");
    await expect.poll(status, { timeout: 15_000, interval: 250 }).toBe("failed");
    const view = (await s.call("GET", `/runs/${runId}`, { token: s.tokens.read })).body as { error?: string };
    expect(view.error).toMatch(/the engine process \(pid \d+\) stopped while the run was in flight/);
  });
});
