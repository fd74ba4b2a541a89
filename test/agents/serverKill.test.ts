import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ApiTokens, CommandStep, Experiment, Pipeline, RunConfiguration, Workspace } from "pipebook";
import { startServer } from "pipebook/server";
import { CLI } from "../engine/helpers.js";

// Stand-in GPUs (PIPEBOOK_GPUS=0,1 in the agent's environment): no GPU here. The server is a real
// `pipebook serve` process, SIGKILLed with a step in flight on a real `pipebook agent` process.
const children: ChildProcess[] = [];
let dir: string;
afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once("exit", r)))));
  children.length = 0;
  await rm(dir, { recursive: true, force: true });
});

const freePort = async (): Promise<number> => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
};
const until = async (done: () => boolean | Promise<boolean>): Promise<void> => {
  while (!(await done())) await new Promise((r) => setTimeout(r, 25));
};

describe("a pipebook serve killed with a step on an agent", () => {
  it("is settled by the next server: the run failed with a reason, the agent told to stop the step it runs, its slot free", async () => {
    dir = await mkdtemp(join(tmpdir(), "pipebook-agent-kill-"));
    await writeFile(join(dir, "pipebook.json"), JSON.stringify({ computeTargets: { a100: { kind: "remote", labels: { gpu: "a100" } } } }));
    const ws = await Workspace.fromConfig({ path: dir });
    const tokens = new ApiTokens(ws);
    const agentToken = tokens.create("agent", ["agent"]).token;
    const admin = tokens.create("admin", ["admin"]).token;
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let agentLog = "";
    const agent = spawn(process.execPath, [CLI, "agent", "--server", url, "--token", agentToken, "--name", "gpu-1", "--labels", "gpu=a100", "--dir", join(dir, "agent")], {
      env: { ...process.env, PIPEBOOK_GPUS: "0,1" }, stdio: ["ignore", "ignore", "pipe"],
    });
    agent.stderr!.on("data", (d: Buffer) => (agentLog += d.toString()));
    children.push(agent);

    // A pipeline with a step on the pool, run once here (a server in this process) and published.
    const inProcess = await startServer({ workspace: ws, port, log: () => undefined, schedules: false });
    await until(() => inProcess.agents.list().some((a) => a.status === "online"));
    const step = new CommandStep({
      name: "long", allowReuse: false, computeTarget: "a100", runconfig: new RunConfiguration({ gpus: 1 }),
      command: `test -e ${join(dir, "armed")} || exit 0; touch ${join(dir, "long.started")}; sleep 60; touch ${join(dir, "long.finished")}`,
    });
    const first = await new Experiment(ws, "kill").submit(new Pipeline(ws, { steps: [step] }));
    expect((await first.waitForCompletion()).status).toBe("completed");
    const published = await first.publishPipeline({ name: "Long", description: "", version: "1" });
    await inProcess.close();
    await ws.close();

    const serve = (): ChildProcess => {
      const c = spawn(process.execPath, [CLI, "serve", "--port", String(port), "--token", admin, "--no-schedules"], { cwd: dir, env: { ...process.env, PIPEBOOK_AGENT_GRACE_MS: "1500" }, stdio: "ignore" });
      children.push(c);
      return c;
    };
    const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
      const r = await fetch(`${url}${path}`, { method, headers: { Authorization: `Bearer ${admin}`, ...(body !== undefined && { "Content-Type": "application/json" }) }, ...(body !== undefined && { body: JSON.stringify(body) }) }).catch(() => undefined);
      return r ? { status: r.status, json: await r.json().catch(() => undefined) } : { status: 0, json: undefined };
    };
    const online = async (): Promise<boolean> => ((await call("GET", "/agents")).json?.agents ?? []).some((a: { status: string }) => a.status === "online");

    const killed = serve();
    await until(online);
    await writeFile(join(dir, "armed"), "");
    const submitted = await call("POST", `/pipelines/${published.id}/runs`, { ExperimentName: "kill" });
    expect(submitted.status).toBe(201);
    const runId: string = submitted.json.Id;
    await until(() => existsSync(join(dir, "long.started")));
    killed.kill("SIGKILL");
    await new Promise((r) => killed.once("exit", r));

    serve();
    await until(async () => ["failed", "canceled"].includes((await call("GET", `/runs/${runId}`)).json?.status));
    const view = (await call("GET", `/runs/${runId}`)).json;
    expect(view.status).toBe("failed");
    expect(view.error).toMatch(/stopped while the run was in flight|engine process/);
    // The agent stopped the step: told by the new server, which did not know it, or by itself
    // when the server was away longer than its grace (whichever came first).
    await until(() => /stopping \((this server does not know the step|away from the server for longer than its grace)/.test(agentLog));
    await until(async () => {
      const agents = (await call("GET", "/agents")).json?.agents ?? [];
      return agents[0]?.status === "online" && agents[0].jobs.length === 0;
    });
    expect(existsSync(join(dir, "long.finished"))).toBe(false);
  });
});
