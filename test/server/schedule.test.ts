import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Schedule, type ScheduleEvent } from "pipebook";
import { startServer } from "pipebook/server";
import { Scheduler } from "../../engine/dist/schedules/Scheduler.js";
import { ScheduleStore } from "../../engine/dist/store/ScheduleStore.js";
import { serverSandbox, sleep, type ServerSandbox } from "./helpers.js";

let s: ServerSandbox;
beforeAll(async () => (s = await serverSandbox()));
afterAll(async () => s?.close());

async function waitForEvent(schedule: Schedule, kind: ScheduleEvent["kind"], timeoutMs = 30_000): Promise<ScheduleEvent> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const found = schedule.events().find((e) => e.kind === kind);
    if (found) return found;
    if (Date.now() > end) throw new Error(`schedule ${schedule.id} had no "${kind}" event: ${JSON.stringify(schedule.events())}`);
    await sleep(50);
  }
}

describe("schedules", () => {
  it("fires a per-second cron schedule with its parameters, and disables over REST", async () => {
    const schedule = await Schedule.create(s.sb.ws, {
      name: "every_second", target: { kind: "pipeline", id: s.published.id }, experiment: "scheduled",
      trigger: { kind: "cron", cron: "* * * * * *" }, parameterAssignments: { lr: 0.9 },
    });
    const fired = await waitForEvent(schedule, "fired");
    const view = await s.waitForRun(fired.runId!);
    expect(view.status).toBe("completed");
    expect(view["parameters"]).toEqual({ lr: 0.9, mode: "fast" });
    expect(view.steps[0]!.metrics).toEqual([{ name: "lr", points: [{ index: 0, value: 0.9 }] }]);
    expect(s.sb.ws.runs.getRun(fired.runId!)?.source).toBe("schedule");
    const listed = await s.call("GET", "/schedules", { token: s.tokens.read });
    expect(listed.body).toEqual(expect.arrayContaining([expect.objectContaining({ id: schedule.id, enabled: true })]));
    expect((await s.call("POST", `/schedules/${schedule.id}/disable`)).status).toBe(200);
    expect((await Schedule.get(s.sb.ws, schedule.id)).enabled).toBe(false);
    const events = await s.call("GET", `/schedules/${schedule.id}/events`, { token: s.tokens.read });
    // The server was up the whole time: nothing is reported as missed while down.
    expect((events.body as ScheduleEvent[]).filter((e) => e.detail.includes("no pipebook server"))).toEqual([]);
  });

  it("runs a pipeline when a watched datastore path changes", async () => {
    const schedule = await Schedule.create(s.sb.ws, {
      name: "on_data", target: { kind: "pipeline", id: s.published.id }, experiment: "triggered",
      trigger: { kind: "datastore", datastore: "workspaceblobstore", path: "incoming", pollSeconds: 1 }, parameterAssignments: { mode: "data" },
    });
    await waitForEvent(schedule, "baseline");
    expect(schedule.events().filter((e) => e.kind === "fired")).toEqual([]);
    const file = join(s.sb.dir, "batch.csv");
    await writeFile(file, "a,b\n1,2\n");
    await s.sb.ws.getDefaultDatastore().uploadFiles([file], { targetPath: "incoming" });
    const fired = await waitForEvent(schedule, "fired");
    expect(fired.detail).toBe("workspaceblobstore:incoming changed");
    expect((await s.waitForRun(fired.runId!))["parameters"]).toEqual({ lr: 0.01, mode: "data" });
    await schedule.disable();
  });

  it("creates schedules over REST, validating the body, the cron expression and the target", async () => {
    const post = (body: unknown, token?: string) => s.call("POST", "/schedules", { body, ...(token !== undefined && { token }) });
    const both = await post({ name: "x", pipelineId: s.published.id, experiment: "e", cron: "* * * * *", watch: { datastore: "workspaceblobstore", path: "a" } });
    expect(both.status).toBe(400);
    expect(both.body).toMatchObject({ error: 'invalid body: field "cron": give exactly one of cron and watch', fields: ["cron"] });
    expect((await post({ name: "x", experiment: "e", cron: "* * * * *" })).body).toMatchObject({ fields: ["pipelineId"] });
    const badCron = await post({ name: "x", pipelineId: s.published.id, experiment: "e", cron: "61 * * * *" });
    expect(badCron.status).toBe(400);
    expect((badCron.body as { error: string }).error).toMatch(/^cron: "61 \* \* \* \*" is not a cron expression/);
    expect(badCron.body).toMatchObject({ code: "request-invalid", reason: "invalid", fields: ["cron"] });
    expect((await post({ name: "x", endpoint: "Nope", experiment: "e", cron: "* * * * *" })).status).toBe(404);
    expect((await post({ name: "x", pipelineId: s.published.id, experiment: "e", cron: "* * * * *" }, s.tokens.submit)).status).toBe(403);
    const created = await post({ name: "rest_made", pipelineId: s.published.id, experiment: "rest_sched", cron: "* * * * * *", ParameterAssignments: { lr: 0.0625 } });
    expect(created.status).toBe(201);
    const schedule = await Schedule.get(s.sb.ws, (created.body as { id: string }).id);
    const fired = await waitForEvent(schedule, "fired");
    expect((await s.waitForRun(fired.runId!))["parameters"]).toEqual({ lr: 0.0625, mode: "fast" });
    expect((await s.call("POST", `/schedules/${schedule.id}/disable`)).body).toMatchObject({ enabled: false });
  });

  it("rejects bad schedules when they are made, not at their first tick", async () => {
    const base = { name: "bad", target: { kind: "pipeline", id: s.published.id }, experiment: "x" } as const;
    await expect(Schedule.create(s.sb.ws, { ...base, trigger: { kind: "cron", cron: "every day" } })).rejects.toThrow(/cron: "every day" is not a cron expression/);
    await expect(Schedule.create(s.sb.ws, { ...base, trigger: { kind: "cron", cron: "* * * * *" }, parameterAssignments: { lr: "high" } })).rejects.toThrow(/parameter "lr" must be a number/);
    await expect(Schedule.create(s.sb.ws, { ...base, target: { kind: "endpoint", name: "nope" }, trigger: { kind: "cron", cron: "* * * * *" } })).rejects.toThrow('no pipeline endpoint "nope"');
    await expect(Schedule.create(s.sb.ws, { ...base, trigger: { kind: "cron", cron: "* * * * *", timezone: "Mars/Olympus" } })).rejects.toThrow(/timezone: "Mars\/Olympus" is not an IANA time zone/);
    await expect(Schedule.create(s.sb.ws, { ...base, trigger: { kind: "cron", cron: "0 0 0 * * * 2030" } })).rejects.toThrow(/cron: "0 0 0 \* \* \* 2030" is not a cron expression: it has 7 field\(s\), and one has 5/);
    const overRest = await s.call("POST", "/schedules", { body: { name: "mars", pipelineId: s.published.id, experiment: "e", cron: "* * * * *", timezone: "Mars/Olympus" } });
    expect(overRest.status).toBe(400);
    expect((overRest.body as { error: string }).error).toMatch(/^timezone: "Mars\/Olympus" is not an IANA time zone/);
    expect(Schedule.list(s.sb.ws).map((x) => x.name)).not.toContain("mars");
  });

  it("isolates a schedule that cannot be evaluated: one failed event, and the others fire on", async () => {
    const quiet = await serverSandbox({ schedules: false });
    let clock = Date.now();
    const fired: string[] = [];
    const scheduler = new Scheduler(quiet.sb.ws, (row) => { fired.push(row.id); return Promise.resolve(`run-${fired.length}`); }, { now: () => clock });
    try {
      // Stored as an older engine accepted it (no check at creation), listed before the good one.
      new ScheduleStore(quiet.sb.ws).insert({
        id: "sch-mars", name: "mars", target: { kind: "pipeline", id: quiet.published.id }, experiment: "x", parameters: {},
        trigger: { kind: "cron", cron: "* * * * * *", timezone: "Mars/Olympus" }, enabled: true,
        createdAt: new Date(clock - 60_000).toISOString(), lastTickAt: null, watchDigest: null,
      });
      const good = await Schedule.create(quiet.sb.ws, {
        name: "good", target: { kind: "pipeline", id: quiet.published.id }, experiment: "x", trigger: { kind: "cron", cron: "* * * * * *" },
      });
      await scheduler.tick();
      for (let i = 0; i < 3; i++) {
        clock += 1000;
        await scheduler.tick();
      }
      expect(fired).toEqual([good.id, good.id, good.id]);
      const mars = await Schedule.get(quiet.sb.ws, "sch-mars");
      expect(mars.events().map((e) => [e.kind, e.detail])).toEqual([["failed", expect.stringMatching(/^this schedule cannot be evaluated, so it does not fire: .*Mars\/Olympus/)]]);
    } finally {
      await scheduler.stop();
      await quiet.close();
    }
  });

  it("fires each due tick once on a stepped clock, and nothing once disabled", async () => {
    // A workspace whose server fires nothing: only this scheduler, on a clock the test moves.
    const quiet = await serverSandbox({ schedules: false });
    let clock = Date.now();
    const fired: string[] = [];
    const scheduler = new Scheduler(quiet.sb.ws, (row) => { fired.push(row.id); return Promise.resolve(`run-${fired.length}`); }, { now: () => clock });
    try {
      const schedule = await Schedule.create(quiet.sb.ws, {
        name: "stepped", target: { kind: "pipeline", id: quiet.published.id }, experiment: "stepped", trigger: { kind: "cron", cron: "* * * * * *" },
      });
      await scheduler.tick(); // takes the lease: nothing is due yet
      expect(fired).toEqual([]);
      clock += 1500;
      await scheduler.tick();
      expect(fired).toEqual([schedule.id]);
      await scheduler.tick(); // the same instant: that tick was handled
      expect(fired).toHaveLength(1);
      clock += 1000;
      await scheduler.tick();
      expect(fired).toHaveLength(2);
      await schedule.disable();
      for (let i = 0; i < 3; i++) {
        clock += 1000;
        await scheduler.tick();
      }
      expect(fired).toHaveLength(2);
      expect(schedule.events().filter((e) => e.kind === "fired").map((e) => e.runId)).toEqual(["run-1", "run-2"]);
    } finally {
      await scheduler.stop();
      await quiet.close();
    }
  });

  it("reports ticks missed while no server ran, once, and does not run them in a burst", async () => {
    // A workspace whose own server fires no schedules, so only the server below decides.
    const quiet = await serverSandbox({ schedules: false });
    const schedule = await Schedule.create(quiet.sb.ws, {
      name: "every_minute", target: { kind: "pipeline", id: quiet.published.id }, experiment: "missed", trigger: { kind: "cron", cron: "0 * * * * *" },
    });
    // A scheduler whose clock says ten minutes went by since the schedule was made: the
    // same as a server that starts again after ten minutes down.
    // Ten minutes on, to the middle of a minute, so no "0 * * * * *" tick falls in the next 30 s.
    const shifted = Date.now() + 10 * 60_000;
    const offset = 10 * 60_000 + (30_000 - (shifted % 60_000));
    const fired: string[] = [];
    const later = new Scheduler(quiet.sb.ws, (row) => { fired.push(row.id); return Promise.resolve("never"); }, { now: () => Date.now() + offset });
    try {
      await later.tick();
      expect(fired).toEqual([]);
      const events = schedule.events();
      const missed = events.filter((e) => e.kind === "missed");
      expect(missed).toHaveLength(1);
      expect(missed[0]!.detail).toMatch(/^(9|10|11) tick\(s\) from .* fell while no pipebook server was running; not run$/);
      expect(events.filter((e) => e.kind === "fired")).toEqual([]);
      expect(quiet.sb.ws.runs.listRuns({ experiment: "missed" })).toEqual([]);
    } finally {
      await later.stop();
      await quiet.close();
    }
  });

  it("lets one server per workspace fire schedules; another stands by and takes over when it stops", async () => {
    const base = await serverSandbox({ schedules: false });
    const first = await startServer({ workspace: base.sb.ws, port: 0, log: () => undefined });
    const logs: string[] = [];
    const second = await startServer({ workspace: base.sb.ws, port: 0, log: (l) => logs.push(l) });
    const health = async (url: string) => ((await (await fetch(`${url}/health`)).json()) as { scheduler: string }).scheduler;
    try {
      expect(await health(first.url)).toBe("active");
      expect(await health(second.url)).toBe("standby");
      expect(logs.join("\n")).toMatch(/standby; the server with pid \d+ on .* fires this workspace's schedules/);
      const schedule = await Schedule.create(base.sb.ws, {
        name: "once_each_tick", target: { kind: "pipeline", id: base.published.id }, experiment: "single", trigger: { kind: "cron", cron: "* * * * * *" },
      });
      for (let i = 0; i < 600 && schedule.events().filter((e) => e.kind === "fired").length < 3; i++) await sleep(25);
      const ticks = schedule.events().filter((e) => e.kind === "fired").map((e) => e.detail);
      expect(ticks.length).toBeGreaterThanOrEqual(3);
      expect(new Set(ticks).size).toBe(ticks.length); // no tick fired twice
      await first.close();
      for (let i = 0; i < 400 && (await health(second.url)) !== "active"; i++) await sleep(50);
      expect(await health(second.url)).toBe("active");
      await schedule.disable();
    } finally {
      await second.close();
      await first.close().catch(() => undefined);
      await base.close();
    }
  });
});
