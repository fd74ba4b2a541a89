import { afterEach, beforeEach, describe, expect, it } from "vitest";
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
