import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Experiment, type PublishedPipeline } from "pipebook";
import { CLI, sandbox, type Sandbox } from "../engine/helpers.js";
import { parameterPipeline } from "./helpers.js";

/** `pipebook serve --port 0` as a real process, with extra variables (the crash point). */
async function serve(cwd: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; exited: Promise<NodeJS.Signals | number | null> }> {
  const child = spawn(process.execPath, [CLI, "serve", "--port", "0", "--token", "secret", "--no-schedules"], { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  const exited = new Promise<NodeJS.Signals | number | null>((r) => child.once("exit", (code, signal) => r(signal ?? code)));
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += String(d);
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.stderr!.on("data", (d: Buffer) => (out += String(d)));
    void exited.then((how) => reject(new Error(`serve ended (${how}) before listening: ${out}`)));
  });
  return { child, url, exited };
}

const post = (url: string, pipelineId: string, key: string): Promise<Response> =>
  fetch(`${url}/pipelines/${pipelineId}/runs`, {
    method: "POST",
    headers: { Authorization: "Bearer secret", "Content-Type": "application/json", "Idempotency-Key": key },
    body: JSON.stringify({ ExperimentName: key, ParameterAssignments: { lr: 0.5 } }),
  });

let sb: Sandbox;
let published: PublishedPipeline;
beforeAll(async () => {
  sb = await sandbox();
  const run = await new Experiment(sb.ws, "notebook").submit(parameterPipeline(sb));
  expect((await run.waitForCompletion()).status).toBe("completed");
  published = await run.publishPipeline({ name: "Crashy", version: "1" });
});
afterAll(async () => sb?.close());

describe("an Idempotency-Key whose server is killed mid-request (PIPEBOOK_TEST_CRASH_AT)", { timeout: 120_000 }, () => {
  // Experiments are named after the key: each case counts the runs of its own.
  for (const point of ["idempotency-claimed", "run-created"] as const) {
    it(`makes one run when the server dies at ${point} and the request is retried on a new server`, async () => {
      const key = `crash-${point}`;
      const crashing = await serve(sb.dir, { PIPEBOOK_TEST_CRASH_AT: point });
      // The server kills itself mid-request: the caller sees the connection drop, not an answer.
      await expect(post(crashing.url, published.id, key)).rejects.toThrow();
      expect(await crashing.exited).toBe("SIGKILL");
      const runsBefore = sb.ws.runs.listRuns({ experiment: key });
      // At run-created the run was recorded before the crash; at idempotency-claimed none was.
      expect(runsBefore).toHaveLength(point === "run-created" ? 1 : 0);

      const restarted = await serve(sb.dir);
      try {
        const retry = await post(restarted.url, published.id, key);
        expect(retry.status).toBe(201);
        const id = ((await retry.json()) as { Id: string }).Id;
        if (point === "run-created") expect(id).toBe(runsBefore[0]!.id);
        const again = await post(restarted.url, published.id, key);
        expect(again.status).toBe(201);
        expect(((await again.json()) as { Id: string }).Id).toBe(id);
        expect(sb.ws.runs.listRuns({ experiment: key }).map((r) => r.id)).toEqual([id]);
      } finally {
        restarted.child.kill("SIGTERM");
        await restarted.exited;
      }
    });
  }
});
