import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CommandStep, Pipeline, PublishedPipeline } from "pipebook";
import { startServer } from "pipebook/server";
import { serverSandbox, sleep, type ServerSandbox } from "./helpers.js";

let s: ServerSandbox;
let gated: PublishedPipeline;
let gate: string;
beforeAll(async () => {
  // One run at a time, two waiting at most.
  s = await serverSandbox({ maxRunningRuns: 1, maxQueuedRuns: 2, maxLiveStreams: 2 });
  gate = join(s.sb.dir, "gate");
  // Published straight from a Pipeline object (no run): its one step waits for the gate file.
  gated = await PublishedPipeline.publish(
    new Pipeline(s.sb.ws, { steps: [new CommandStep({ name: "wait", allowReuse: false, command: `while [ ! -f ${gate} ]; do sleep 0.05; done; echo through` })] }),
    { name: "Gated", version: "1" },
  );
});
afterAll(async () => {
  await writeFile(gate, "");
  await s?.close();
});

type Json = Record<string, unknown>;

// The queue is small: let the runs of the previous test end before the next one starts.
beforeEach(async () => {
  for (let i = 0; i < 1200 && s.server.queue.size > 0; i++) await sleep(25);
  expect(s.server.queue.size).toBe(0);
});
const runCount = (): number => s.sb.ws.runs.listRuns({ limit: 10_000 }).length;

describe("Idempotency-Key", () => {
  it("returns the same run for concurrent and later retries, and makes exactly one", async () => {
    const before = runCount();
    const send = (token = s.tokens.admin) =>
      s.call("POST", `/pipelines/${s.published.id}/runs`, { token, headers: { "Idempotency-Key": "retry-me-1" }, body: { ExperimentName: "idem", ParameterAssignments: { lr: 0.3 } } });
    const replies = await Promise.all(Array.from({ length: 6 }, () => send()));
    const ids = new Set(replies.map((r) => (r.body as Json)["Id"]));
    expect(replies.map((r) => r.status)).toEqual([201, 201, 201, 201, 201, 201]);
    expect(ids.size).toBe(1);
    expect(runCount()).toBe(before + 1);
    const later = await send();
    expect((later.body as Json)["Id"]).toBe([...ids][0]);
    expect(later.headers.get("idempotent-replayed")).toBe("true");
    expect((later.body as Json)["PipelineId"]).toBe(s.published.id);
    expect(runCount()).toBe(before + 1);
    // Keys belong to the caller: another token's same key is another request.
    const other = await send(s.tokens.submit);
    expect((other.body as Json)["Id"]).not.toBe([...ids][0]);
    expect(runCount()).toBe(before + 2);
  });

  it("makes one run for one key sent at once to two servers on one workspace", async () => {
    // A second server on the workspace: its own queue and submitter, so only the store is shared,
    // as between two `pipebook serve` processes.
    const other = await startServer({ workspace: s.sb.ws, port: 0, schedules: false, log: () => undefined });
    try {
      const before = runCount();
      const send = (url: string) =>
        fetch(`${url}/pipelines/${s.published.id}/runs`, {
          method: "POST",
          headers: { Authorization: `Bearer ${s.tokens.admin}`, "Content-Type": "application/json", "Idempotency-Key": "two-servers" },
          body: JSON.stringify({ ExperimentName: "idem", ParameterAssignments: { lr: 0.7 } }),
        });
      const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => send(i % 2 === 0 ? s.url : other.url)));
      expect(replies.map((r) => r.status)).toEqual(Array(8).fill(201));
      const ids = new Set(await Promise.all(replies.map(async (r) => ((await r.json()) as Json)["Id"])));
      expect(ids.size).toBe(1);
      expect(runCount()).toBe(before + 1);
      await s.waitForRun([...ids][0] as string);
    } finally {
      await other.close();
    }
  });

  it("refuses a key reused for a different request with 422", async () => {
    const first = await s.call("POST", `/pipelines/${s.published.id}/runs`, { headers: { "Idempotency-Key": "k2" }, body: { ExperimentName: "idem", ParameterAssignments: { lr: 0.3 } } });
    expect(first.status).toBe(201);
    const changed = await s.call("POST", `/pipelines/${s.published.id}/runs`, { headers: { "Idempotency-Key": "k2" }, body: { ExperimentName: "idem", ParameterAssignments: { lr: 0.4 } } });
    expect(changed.status).toBe(422);
    expect(changed.body).toMatchObject({ error: "this Idempotency-Key was already used for a different request", fields: ["Idempotency-Key"] });
    const bad = await s.call("POST", `/pipelines/${s.published.id}/runs`, { headers: { "Idempotency-Key": "x".repeat(300) }, body: { ExperimentName: "idem" } });
    expect(bad.status).toBe(400);
    await s.waitForRun((first.body as Json)["Id"] as string);
  });
});

describe("run queue", () => {
  it("records runs at once, runs one at a time, keeps the rest waiting, and answers 429 with Retry-After when full", async () => {
    const post = () => s.call("POST", `/pipelines/${gated.id}/runs`, { headers: { "Idempotency-Key": `gate-${Math.random()}` }, body: { ExperimentName: "queue" } });
    const replies = [await post(), await post(), await post()];
    expect(replies.map((r) => r.status)).toEqual([201, 201, 201]);
    const [a, b, c] = replies.map((r) => (r.body as Json)["Id"] as string) as [string, string, string];
    const status = (id: string) => s.sb.ws.runs.getRun(id)!.status;
    for (let i = 0; i < 1200 && status(a) !== "running"; i++) await sleep(25);
    // a runs; b and c are recorded and wait (their ids were answered at once).
    expect([status(a), status(b), status(c)]).toEqual(["running", "queued", "queued"]);
    expect(((await s.call("GET", `/runs/${b}`)).body as Json)["status"]).toBe("queued");
    expect(((await s.call("GET", "/health", { token: null })).body as Json)["queue"]).toMatchObject({ running: 1, waiting: 2, maxRunning: 1, maxQueued: 2 });
    const before = runCount();
    const over = await post();
    expect(over.status).toBe(429);
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect((over.body as Json)["error"]).toMatch(/^the server's run queue is full \(2 waiting, 1 running\); retry in \d+s$/);
    expect(over.body).toMatchObject({ code: "queue-full", reason: "full" });
    expect(runCount()).toBe(before);
    // Invalid requests are still answered as such when the queue is full.
    expect((await s.call("POST", `/pipelines/${gated.id}/runs`, { body: { ExperimentName: "queue", ParameterAssignments: { nope: 1 } } })).status).toBe(400);
    // A waiting run canceled never starts.
    expect((await s.call("POST", `/runs/${c}/cancel`)).status).toBe(202);
    expect((await s.waitForRun(c)).status).toBe("canceled");
    expect(s.sb.ws.runs.getStep(`${c}.wait`)).toMatchObject({ status: "skipped", startedAt: null });
    await writeFile(gate, "");
    const [va, vb] = [await s.waitForRun(a), await s.waitForRun(b)];
    expect([va.status, vb.status]).toEqual(["completed", "completed"]);
    // In order, one at a time: b started only after a ended.
    expect(Date.parse(s.sb.ws.runs.getRun(b)!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(s.sb.ws.runs.getRun(a)!.endedAt!));
    for (let i = 0; i < 400 && s.server.queue.size > 0; i++) await sleep(25);
    const again = await post();
    expect(again.status).toBe(201);
    expect((await s.waitForRun((again.body as Json)["Id"] as string)).status).toBe("completed");
  });
});

describe("cancel", () => {
  it("cancels a run this server executes, and refuses runs it does not", async () => {
    // A gate that never opens: only the cancel ends this run.
    const closed = join(s.sb.dir, "never");
    const forever = await PublishedPipeline.publish(
      new Pipeline(s.sb.ws, { steps: [new CommandStep({ name: "wait", allowReuse: false, command: `while [ ! -f ${closed} ]; do sleep 0.05; done` })] }),
      { name: "Forever", version: "1" },
    );
    const r = await s.call("POST", `/pipelines/${forever.id}/runs`, { body: { ExperimentName: "cancel" } });
    const runId = (r.body as Json)["Id"] as string;
    for (let i = 0; i < 1200 && s.sb.ws.runs.getStep(`${runId}.wait`)?.status !== "running"; i++) await sleep(25);
    expect(s.sb.ws.runs.getStep(`${runId}.wait`)?.status).toBe("running");
    expect((await s.call("POST", `/runs/${runId}/cancel`, { token: s.tokens.read })).status).toBe(403);
    const canceled = await s.call("POST", `/runs/${runId}/cancel`, { token: s.tokens.submit });
    expect(canceled.status).toBe(202);
    const view = await s.waitForRun(runId);
    expect(view.status).toBe("canceled");
    const notHere = await s.call("POST", `/runs/${s.firstRunId}/cancel`);
    expect(notHere.status).toBe(409);
    expect((notHere.body as Json)["error"]).toBe(`run "${s.firstRunId}" is not queued or running in this server (finished, or started by another process)`);
  });
});


describe("live streams", () => {
  it("shares one feed per run among clients, and refuses streams over the cap with 503", async () => {
    const closed = join(s.sb.dir, "streams-gate");
    const held = await PublishedPipeline.publish(
      new Pipeline(s.sb.ws, { steps: [new CommandStep({ name: "hold", allowReuse: false, command: `while [ ! -f ${closed} ]; do sleep 0.05; done` })] }),
      { name: "Held", version: "1" },
    );
    const runId = ((await s.call("POST", `/pipelines/${held.id}/runs`, { body: { ExperimentName: "streams" } })).body as Json)["Id"] as string;
    const open = () => fetch(`${s.url}/runs/${runId}/events`, { headers: { Authorization: `Bearer ${s.tokens.read}` } });
    const [one, two] = [await open(), await open()];
    expect([one.status, two.status]).toEqual([200, 200]);
    const health = async () => ((await s.call("GET", "/health", { token: null })).body as Json)["liveStreams"];
    expect(await health()).toBe(2);
    const third = await open();
    expect(third.status).toBe(503);
    expect(third.headers.get("retry-after")).toBe("5");
    expect(((await third.json()) as Json)["error"]).toMatch(/^the server already streams 2 live views, its limit/);
    const { WebSocket } = await import("ws");
    const wsStatus = await new Promise<number>((resolve) => {
      const socket = new WebSocket(`${s.url.replace("http", "ws")}/runs/${runId}/live?access_token=${s.tokens.read}`);
      socket.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      socket.on("open", () => resolve(101));
      socket.on("error", () => undefined);
    });
    expect(wsStatus).toBe(503);
    await writeFile(closed, "");
    const last = async (r: Response) => JSON.parse((await r.text()).trim().split("\n\n").at(-1)!.slice(6)) as { status: string };
    expect([(await last(one)).status, (await last(two)).status]).toEqual(["completed", "completed"]);
    for (let i = 0; i < 200 && (await health()) !== 0; i++) await sleep(25);
    expect(await health()).toBe(0);
  });
});
