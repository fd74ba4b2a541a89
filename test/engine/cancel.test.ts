import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Workspace } from "pipebook";
import { CLI, pipebook, pipelineProject } from "./helpers.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSyncSafe(`/proc/${pid}/stat`).includes(") Z ");
  } catch {
    return false;
  }
}

function readFileSyncSafe(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

let dir: string;
beforeAll(async () => {
  dir = await pipelineProject("cancel", {});
  // One step that records its pid and waits for a gate that never opens: only a cancel ends it.
  await writeFile(
    join(dir, "hold.ts"),
    [
      'import { CommandStep, Pipeline, Workspace } from "pipebook";',
      "const ws = await Workspace.fromConfig();",
      `export default new Pipeline(ws, { steps: [new CommandStep({ name: "hold", allowReuse: false, command: 'echo $$ > "${dir}/hold.pid"; while [ ! -f "${dir}/never" ]; do sleep 0.05; done' })] });`,
    ].join("\n"),
  );
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

/** Starts `pipebook run hold.ts` and resolves once its step is running, with the step's pid. */
async function startHold(): Promise<{ child: ChildProcess; runId: string; stepPid: number; exit: Promise<number | null>; out: () => string }> {
  await rm(join(dir, "hold.pid"), { force: true });
  const child = spawn(process.execPath, [CLI, "run", "hold.ts"], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += String(d)));
  child.stderr!.on("data", (d: Buffer) => (out += String(d)));
  const exit = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  let pid = "";
  for (let i = 0; i < 1200 && !/^\d+\n$/.test(pid); i++) {
    await sleep(25);
    pid = await readFile(join(dir, "hold.pid"), "utf8").catch(() => "");
  }
  expect(pid).toMatch(/^\d+\n$/);
  return { child, runId: /submitted run (\S+)/.exec(out)![1]!, stepPid: Number(pid), exit, out: () => out };
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 400 && alive(pid); i++) await sleep(25);
  return !alive(pid);
}

describe("canceling a CLI run", { timeout: 120_000 }, () => {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal} on pipebook run stops its steps and ends the run canceled`, async () => {
      const held = await startHold();
      held.child.kill(signal);
      expect(await held.exit).toBe(signal === "SIGINT" ? 130 : 143);
      expect(held.out()).toMatch(new RegExp(`run ${held.runId} canceled`));
      expect(await gone(held.stepPid)).toBe(true);
      const ws = await Workspace.fromConfig({ path: dir });
      expect(ws.runs.getRun(held.runId)).toMatchObject({ status: "canceled" });
      expect(ws.runs.getSteps(held.runId)[0]!.status).toBe("canceled");
    });
  }

  it("pipebook cancel RUN ends another process's run canceled and says so; a second cancel is refused", async () => {
    const held = await startHold();
    const canceled = await pipebook(dir, "cancel", held.runId.slice(0, 20));
    expect(canceled).toMatchObject({ code: 0, stdout: `run ${held.runId} canceled\n` });
    expect(await held.exit).toBe(1);
    expect(await gone(held.stepPid)).toBe(true);
    const again = await pipebook(dir, "cancel", held.runId);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(`pipebook: run ${held.runId} already ended canceled; there is nothing to cancel\n`);
  });
});
