import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiTokens, Experiment, Pipeline, PythonScriptStep, RunConfiguration } from "pipebook";
import { WebSocket } from "ws";
import { agentSandbox, type AgentSandbox } from "./helpers.js";

let as: AgentSandbox;
beforeEach(async () => (as = await agentSandbox()));
afterEach(async () => as.close());

const status = async (method: string, path: string, token: string, body?: unknown): Promise<number> =>
  (await fetch(`${as.server.url}${path}`, { method, headers: { Authorization: `Bearer ${token}`, ...(body !== undefined && { "Content-Type": "application/json" }) }, ...(body !== undefined && { body: JSON.stringify(body) }) })).status;

const upgrade = (path: string, token: string): Promise<number> =>
  new Promise((resolve) => {
    const socket = new WebSocket(`${as.server.url.replace("http", "ws")}${path}`, { headers: { Authorization: `Bearer ${token}` } });
    socket.on("open", () => {
      socket.terminate();
      resolve(101);
    });
    socket.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    socket.on("error", () => undefined);
  });

describe("the agent scope", () => {
  it("takes jobs and moves the blobs of its jobs, and is refused everywhere else", async () => {
    const t = as.agentToken;
    // Its own routes.
    expect(await upgrade("/agents/connect", t)).toBe(101);
    expect(await status("POST", "/blobs/missing", t, { digests: ["a".repeat(64)] })).toBe(200);
    // A blob no job was given: refused, though the workspace has it.
    const digest = await as.ws.blobs.putBytes("a secret of another run");
    expect(await status("GET", `/blobs/${digest}`, t)).toBe(403);
    expect(await status("GET", `/blobs/${digest}`, as.readToken)).toBe(200);
    // Everything else: reading runs, agents, pipelines; submitting; publishing; live streams.
    for (const [method, path] of [["GET", "/runs"], ["GET", "/agents"], ["GET", "/pipelines"], ["GET", "/endpoints"], ["GET", "/schedules"], ["POST", "/runs/x/cancel"], ["POST", "/runs/x/publish"], ["POST", "/pipelines/x/runs"]] as const) {
      expect(await status(method, path, t, method === "POST" ? {} : undefined), `${method} ${path}`).toBe(403);
    }
    expect(await upgrade("/runs/x/live", t)).toBe(403);
    // And other tokens cannot pose as agents.
    expect(await upgrade("/agents/connect", as.readToken)).toBe(403);
    expect(await upgrade("/agents/connect", "not-a-token")).toBe(401);
  });
});

describe("the blobs an agent token reads", () => {
  it("are those of jobs in flight on agents connected with that token, not with another agent token", async () => {
    // A second agent token, as a second team's agents would have.
    const other = new ApiTokens(as.ws).create("agent-b", ["agent"]).token;
    as.agent("gpu-1");
    await as.waitForAgent("gpu-1");
    // The step holds until released, so its code's blob stays offered to gpu-1's job.
    const script = `import os, time\nwhile not os.path.exists(${JSON.stringify(`${as.sb.dir}/release`)}):\n    time.sleep(0.02)\nprint("released")\n`;
    await as.sb.write("src/hold.py", script);
    const digest = createHash("sha256").update(script).digest("hex");
    const run = await new Experiment(as.ws, "tokens").submit(new Pipeline(as.ws, {
      steps: [new PythonScriptStep({ name: "hold", scriptName: "hold.py", sourceDirectory: `${as.sb.dir}/src`, computeTarget: "a100", runconfig: new RunConfiguration({ gpus: 1 }) })],
    }));
    while (!as.server.agents.list().some((a) => a.jobs.length > 0)) await new Promise((r) => setTimeout(r, 20));
    expect(await status("GET", `/blobs/${digest}`, as.agentToken)).toBe(200);
    const refused = await fetch(`${as.server.url}/blobs/${digest}`, { headers: { Authorization: `Bearer ${other}` } });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toBe(
      `an agent token reads only the blobs of jobs given to agents connected with it, and no such job in flight was given ${digest}`,
    );
    await as.sb.write("release", "");
    const view = await run.waitForCompletion();
    expect(view.steps[0]!.logTail).toContain("released");
    // Once the job ended, its own token reads it no more either.
    expect(await status("GET", `/blobs/${digest}`, as.agentToken)).toBe(403);
  });
});

describe("agent names", () => {
  it("refuses a second live agent under a name taken, and the first keeps its place", async () => {
    as.agent("gpu-1");
    await as.waitForAgent("gpu-1");
    const since = as.server.agents.list()[0]!.connectedAt;
    const twin = as.agent("gpu-1", { dir: `${as.sb.dir}/twin` });
    while (!twin.log().includes("already connected")) await new Promise((r) => setTimeout(r, 20));
    expect(twin.log()).toContain("the server refused this agent: an agent named gpu-1 is already connected (host ");
    expect(as.server.agents.list()).toMatchObject([{ name: "gpu-1", status: "online", connectedAt: since }]);
  });
});

describe("paths from the wire", () => {
  it("accepts only relative paths that stay inside their folder", async () => {
    const { safeRelativePath } = await import("../../engine/dist/compute/remote/treePaths.js");
    for (const ok of ["a", "a/b.txt", "x/y/z", ".hidden", "a..b"]) expect(safeRelativePath(ok), ok).toBe(true);
    for (const bad of ["", "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b", "a/", "a\\b", "a\0b", ".."]) expect(safeRelativePath(bad), JSON.stringify(bad)).toBe(false);
  });
});
