import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { CommandStep, Experiment, Pipeline, PublishedPipeline, Schedule } from "pipebook";
import { CLI, pipebook, sandbox, type Sandbox } from "../engine/helpers.js";
import { ScheduleStore } from "../../engine/dist/store/ScheduleStore.js";
import { parameterPipeline, sleep } from "./helpers.js";

const exec = promisify(execFile);

/** Starts `pipebook serve --port 0` as a real process and reads its URL from its first line. */
async function serve(cwd: string, ...args: string[]): Promise<{ child: ChildProcess; url: string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 20_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += String(d);
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.stderr!.on("data", (d: Buffer) => (out += String(d)));
    child.once("exit", (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
  const stop = async (): Promise<number | null> => {
    if (child.exitCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    return exited;
  };
  return { child, url, stop };
}

let sb: Sandbox;
let runId: string;
beforeAll(async () => {
  sb = await sandbox();
  const run = await new Experiment(sb.ws, "notebook").submit(parameterPipeline(sb));
  expect((await run.waitForCompletion()).status).toBe("completed");
  runId = run.id;
});
afterAll(async () => sb?.close());

describe("pipebook serve as a process, driven through the CLI", { timeout: 120_000 }, () => {
  it("prints the help the workbench launcher looks for", async () => {
    const help = await pipebook(sb.dir, "serve", "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: pipebook serve\b/);
    expect(help.stdout).toContain("--port");
    expect(help.stdout).toContain("--token");
  });

  it("publishes with the CLI, serves the endpoint with a CLI-made token, and stops cleanly on SIGTERM", async () => {
    const published = await pipebook(sb.dir, "publish", runId.slice(0, 20), "--name", "CliTrainer", "--version", "1.0", "--endpoint", "CliEndpoint");
    expect(published.code).toBe(0);
    expect(published.stdout).toMatch(/endpoint CliEndpoint version 0 \(default\)/);
    const token = (await pipebook(sb.dir, "token", "create", "--name", "ci", "--scope", "runs:submit", "--scope", "read")).stdout.trim();
    expect(token).toMatch(/^pbk_[0-9a-f]{12}_/);
    expect((await pipebook(sb.dir, "token", "create", "--name", "ci", "--scope", "root")).stderr).toContain("unknown scope root");
    expect((await pipebook(sb.dir, "endpoints")).stdout).toContain("CliEndpoint");
    const server = await serve(sb.dir, "--token", "launcher-secret");
    try {
      const r = await fetch(`${server.url}/endpoints/CliEndpoint/runs`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ ExperimentName: "from_cli_server", RunSource: "API", ParameterAssignments: { lr: 0.625 } }),
      });
      expect(r.status).toBe(201);
      const id = ((await r.json()) as { Id: string }).Id;
      for (let i = 0; i < 1200; i++) {
        const view = (await (await fetch(`${server.url}/runs/${id}`, { headers: { Authorization: "Bearer launcher-secret" } })).json()) as { status: string };
        if (view.status === "completed") break;
        expect(["queued", "running"]).toContain(view.status);
        await sleep(50);
      }
      const file = await fetch(`${server.url}/runs/${id}/steps/train/outputs/model?path=params.txt`, { headers: { Authorization: `Bearer ${token}` } });
      expect((await file.text()).trim()).toBe("lr=0.625 mode=fast");
      const revoke = await pipebook(sb.dir, "token", "revoke", (await pipebook(sb.dir, "token", "list")).stdout.split("\n").find((l) => l.includes(" ci "))!.split(/\s+/)[0]!);
      expect(revoke.code).toBe(0);
      expect((await fetch(`${server.url}/runs`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(401);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it("reports the ticks a per-second schedule missed while the server was down, and fires again after", async () => {
    const created = await pipebook(sb.dir, "schedule", "create", "--name", "tick", "--endpoint", "CliEndpoint", "-e", "ticks", "--cron", "* * * * * *", "-p", "mode=cron");
    expect(created.code).toBe(0);
    const id = /schedule (sch-[0-9a-f]+)/.exec(created.stdout)![1]!;
    // No server for the last 3 s: the schedule's last handled tick is put where such an outage
    // leaves it (the clock the scheduler reads is the store's), instead of sleeping until ticks fall.
    new ScheduleStore(sb.ws).setLastTick(id, new Date(Date.now() - 3000).toISOString());
    const server = await serve(sb.dir);
    try {
      // Read the events from the store in this process: quick polling, no CLI start-up per look.
      const schedule = await Schedule.get(sb.ws, id);
      let events = schedule.events();
      for (let i = 0; i < 1200 && !events.some((e) => e.kind === "fired"); i++) {
        await sleep(25);
        events = schedule.events();
      }
      const missed = events.filter((e) => e.kind === "missed");
      expect(missed).toHaveLength(1);
      const count = Number(/^(\d+) tick\(s\) from .* fell while no pipebook server was running; not run$/.exec(missed[0]!.detail)![1]);
      expect(count).toBeGreaterThanOrEqual(2);
      // Not a burst: every tick that fired falls after the restart, none of the missed ones ran.
      const restartedAt = Date.parse(missed[0]!.at);
      const fired = events.filter((e) => e.kind === "fired");
      expect(fired.length).toBeGreaterThanOrEqual(1);
      for (const f of fired) expect(Date.parse(/^cron tick (\S+)$/.exec(f.detail)![1]!)).toBeGreaterThan(restartedAt);
      const view = await (await fetch(`${server.url}/runs/${fired[0]!.runId}`, { headers: { Authorization: "Bearer none" } })).json();
      expect(view).toEqual({ error: "a valid bearer token is required (Authorization: Bearer <token>)" });
      expect(sb.ws.runs.getRun(fired[0]!.runId!)?.parameters).toEqual({ lr: 0.01, mode: "cron" });
      const cli = await pipebook(sb.dir, "schedule", "events", id);
      expect(cli.stdout).toMatch(/missed\s+\d+ tick\(s\)/);
    } finally {
      expect((await pipebook(sb.dir, "schedule", "disable", id)).code).toBe(0);
      expect(await server.stop()).toBe(0);
    }
  });

  it("ends a queued run with a reason the caller reads when its server is killed or stopped before the run started", async () => {
    // Its one step waits for a gate that never opens: the first run holds the only run slot.
    const gated = await PublishedPipeline.publish(
      new Pipeline(sb.ws, { steps: [new CommandStep({ name: "wait", allowReuse: false, command: `while [ ! -f ${join(sb.dir, "never")} ]; do sleep 0.05; done` })] }),
      { name: "GatedForRestart", version: "1" },
    );
    const auth = { Authorization: "Bearer launcher-secret", "Content-Type": "application/json" };
    const postTwo = async (url: string): Promise<[string, string]> => {
      const ids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const r = await fetch(`${url}/pipelines/${gated.id}/runs`, { method: "POST", headers: auth, body: JSON.stringify({ ExperimentName: "restart" }) });
        expect(r.status).toBe(201);
        ids.push(((await r.json()) as { Id: string }).Id);
      }
      for (let i = 0; i < 1200 && sb.ws.runs.getRun(ids[0]!)!.status !== "running"; i++) await sleep(25);
      expect([sb.ws.runs.getRun(ids[0]!)!.status, sb.ws.runs.getRun(ids[1]!)!.status]).toEqual(["running", "queued"]);
      return [ids[0]!, ids[1]!];
    };
    const readRun = async (url: string, id: string) => (await (await fetch(`${url}/runs/${id}`, { headers: auth })).json()) as { status: string; error?: string };

    const killed = await serve(sb.dir, "--token", "launcher-secret", "--no-schedules", "--max-running-runs", "1");
    const [running, queued] = await postTwo(killed.url);
    const pid = killed.child.pid!;
    const exited = new Promise((r) => killed.child.once("exit", r));
    killed.child.kill("SIGKILL");
    await exited;
    const restarted = await serve(sb.dir, "--token", "launcher-secret", "--no-schedules", "--max-running-runs", "1");
    try {
      expect(await readRun(restarted.url, queued)).toMatchObject({
        status: "canceled",
        error: `the process that accepted this run (pid ${pid}) stopped before the run started; no step ran: submit it again`,
      });
      expect((await readRun(restarted.url, running)).status).toBe("failed");
      const [, queuedAgain] = await postTwo(restarted.url);
      expect(await restarted.stop()).toBe(0);
      expect(sb.ws.runs.getRun(queuedAgain)).toMatchObject({ status: "canceled", error: "the pipebook server stopped before the run started; no step ran: submit it again" });
    } finally {
      await restarted.stop();
    }
  });

  it("says clearly when the port is taken", async () => {
    const first = await serve(sb.dir, "--no-schedules");
    try {
      const port = new URL(first.url).port;
      const second = await pipebook(sb.dir, "serve", "--port", port, "--no-schedules");
      expect(second.code).toBe(2);
      expect(second.stderr).toBe(`pipebook: port ${port} on 127.0.0.1 is in use; choose another with --port\n`);
    } finally {
      expect(await first.stop()).toBe(0);
    }
  });

  it("says clearly what is wrong with CLI publishing input", async () => {
    const missing = await pipebook(sb.dir, "pipelines", "disable", "nope");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('pipebook: no published pipeline "nope"\n');
    const badCron = await pipebook(sb.dir, "schedule", "create", "--name", "bad", "--endpoint", "CliEndpoint", "-e", "x", "--cron", "sometimes");
    expect(badCron.code).toBe(2);
    expect(badCron.stderr).toContain('cron: "sometimes" is not a cron expression');
  });
});
