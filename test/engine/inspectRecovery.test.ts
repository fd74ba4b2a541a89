import { spawn } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, pipebook, pipelineProject } from "./helpers.js";

// `pipebook runs`/`show` open the run history alone (workspace/openRunHistory) and load the orphan
// recovery only when a run is in flight, then leave by process.exit without closing the store.
// A run left in flight by a killed `pipebook run` must still show failed, and stay so for the
// next command, which reads the WAL the previous one left.

let dir: string;
beforeAll(async () => {
  dir = await pipelineProject("inspect-recovery", {});
  await writeFile(
    join(dir, "long.ts"),
    [
      `import { CommandStep, Pipeline, Workspace } from "pipebook";`,
      `const ws = await Workspace.fromConfig();`,
      `export const pipeline = new Pipeline(ws, { steps: [new CommandStep({ name: "long", command: "echo $$ > ${join(dir, "step.pid")}; echo step-started; exec sleep 120", allowReuse: false })] });`,
    ].join("\n"),
  );
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

/** Whether `pid` is a live (not zombie) process. */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  return stat !== undefined && !/^\d+ \(.*\) Z /.test(stat);
}

describe("pipebook runs after a killed pipebook run", () => {
  it("shows the run failed, stops its step, and the next command reads the same", async () => {
    const engine = spawn(process.execPath, [CLI, "run", "long.ts"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    await new Promise<void>((resolve, reject) => {
      engine.stdout.on("data", (b: Buffer) => {
        out += b.toString();
        if (out.includes("step-started")) resolve();
      });
      engine.once("exit", (code) => reject(new Error(`pipebook run exited ${code} before its step started: ${out}`)));
    });
    const runId = /submitted run (\S+)/.exec(out)![1]!;
    const stepPid = Number((await readFile(join(dir, "step.pid"), "utf8")).trim());
    expect(await alive(stepPid)).toBe(true);
    engine.removeAllListeners("exit");
    const exited = new Promise((resolve) => engine.once("exit", resolve));
    engine.kill("SIGKILL");
    await exited;

    const runs = await pipebook(dir, "runs");
    expect(runs.code).toBe(0);
    expect(runs.stdout).toMatch(new RegExp(`^${runId}\\s+long\\s+failed\\s`, "m"));
    expect(await alive(stepPid)).toBe(false);

    // The next process reads what the first recovered (it left the WAL, not a checkpointed file).
    const show = await pipebook(dir, "show", runId);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/status\s+failed — the engine process \(pid \d+\) stopped while the run was in flight/);
    expect(show.stdout).toMatch(/long: interrupted: the engine process/);
    const why = await pipebook(dir, "why", runId, "long");
    expect(why.code).toBe(0);
    expect(why.stdout).toContain(`long in run ${runId}: failed`);
  });
});
