import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiTokens } from "pipebook";
import { serverSandbox, type ServerSandbox } from "./helpers.js";

let s: ServerSandbox;
const SERVER_TOKEN = "launcher-token-0123456789abcdef";
beforeAll(async () => (s = await serverSandbox({ tokens: [SERVER_TOKEN], corsOrigins: ["http://127.0.0.1:8888"] })));
afterAll(async () => s?.close());

describe("authentication and scopes", () => {
  const run = (token: string | null, headers?: Record<string, string>) =>
    s.call("POST", `/pipelines/${s.published.id}/runs`, { token, body: { ExperimentName: "auth" }, ...(headers && { headers }) });

  it("answers 401 without a token, with a malformed or unknown token, and says nothing more", async () => {
    for (const token of [null, "", "pbk_000000000000_" + "A".repeat(43), s.tokens.admin.slice(0, -1) + (s.tokens.admin.endsWith("A") ? "B" : "A"), "x".repeat(5000)]) {
      const r = await run(token);
      expect(r.status).toBe(401);
      expect(r.body).toEqual({ error: "a valid bearer token is required (Authorization: Bearer <token>)" });
      expect(r.headers.get("www-authenticate")).toBe('Bearer realm="pipebook"');
    }
    const basic = await s.call("GET", "/pipelines", { token: null, headers: { Authorization: `Basic ${Buffer.from("a:b").toString("base64")}` } });
    expect(basic.status).toBe(401);
  });

  it("answers 403 when the token lacks the scope, naming only the scope", async () => {
    const r = await run(s.tokens.read);
    expect(r.status).toBe(403);
    expect(r.body).toEqual({ error: 'this token does not have the "runs:submit" scope' });
    expect((await s.call("GET", "/pipelines", { token: s.tokens.submit })).status).toBe(403);
    expect((await s.call("GET", "/pipelines", { token: s.tokens.read })).status).toBe(200);
    expect((await run(s.tokens.submit)).status).toBe(201);
  });

  it("refuses a revoked token at once, without a restart", async () => {
    const tokens = new ApiTokens(s.sb.ws);
    const { token, info } = tokens.create("short_lived", ["read"]);
    expect((await s.call("GET", "/runs", { token })).status).toBe(200);
    tokens.revoke(info.id);
    expect((await s.call("GET", "/runs", { token })).status).toBe(401);
    expect(tokens.list().find((t) => t.id === info.id)?.revokedAt).not.toBeNull();
  });

  it("stores only hashes of tokens", () => {
    const rows = s.sb.ws.db.prepare("SELECT * FROM api_tokens").all() as Record<string, unknown>[];
    const stored = JSON.stringify(rows);
    for (const t of Object.values(s.tokens)) {
      expect(stored).not.toContain(t);
      // The secret is everything after `pbk_<id>_`; base64url secrets may hold "_" themselves.
      const secret = /^pbk_[0-9a-f]{12}_(.+)$/.exec(t)?.[1];
      expect(secret).toHaveLength(43);
      expect(stored).not.toContain(secret);
    }
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r["hash"] as string))).toBe(true);
  });

  it("accepts the server's own --token with every scope", async () => {
    expect((await run(SERVER_TOKEN)).status).toBe(201);
    expect((await s.call("GET", "/endpoints", { token: SERVER_TOKEN })).status).toBe(200);
  });

  it("needs no token for the page, the health check and the OpenAPI document", async () => {
    const page = await s.call("GET", "/", { token: null });
    expect(page.status).toBe(200);
    expect(page.text).toContain("pipebook");
    expect((await s.call("GET", "/health", { token: null })).status).toBe(200);
    expect((await s.call("GET", "/web/app.js", { token: null })).status).toBe(200);
  });

  it("allows cross-origin calls from configured origins only", async () => {
    const preflight = await fetch(`${s.url}/pipelines/${s.published.id}/runs`, {
      method: "OPTIONS",
      headers: { Origin: "http://127.0.0.1:8888", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("http://127.0.0.1:8888");
    expect(preflight.headers.get("access-control-allow-headers")).toContain("Authorization");
    const other = await fetch(`${s.url}/pipelines`, { method: "OPTIONS", headers: { Origin: "http://evil.example", "Access-Control-Request-Method": "GET" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const get = await s.call("GET", "/pipelines", { headers: { Origin: "http://127.0.0.1:8888" } });
    expect(get.headers.get("access-control-allow-origin")).toBe("http://127.0.0.1:8888");
  });

  it("authenticates the live WebSocket and streams views until the run ends", async () => {
    const { WebSocket } = await import("ws");
    const r = await run(s.tokens.submit);
    const runId = (r.body as { Id: string }).Id;
    const refused = await new Promise<number>((resolve) => {
      const socket = new WebSocket(`${s.url.replace("http", "ws")}/runs/${runId}/live`);
      socket.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      socket.on("open", () => resolve(101));
      socket.on("error", () => undefined);
    });
    expect(refused).toBe(401);
    const statuses = await new Promise<string[]>((resolve, reject) => {
      const seen: string[] = [];
      const socket = new WebSocket(`${s.url.replace("http", "ws")}/runs/${runId}/live?access_token=${encodeURIComponent(s.tokens.read)}`);
      socket.on("message", (data) => seen.push((JSON.parse(String(data)) as { view: { status: string } }).view.status));
      socket.on("close", (code) => (code === 1000 ? resolve(seen) : reject(new Error(`closed ${code}`))));
      socket.on("error", reject);
    });
    expect(statuses.at(-1)).toBe("completed");
  });

  it("answers a WebSocket upgrade with a malformed escape with 400, and goes on serving", async () => {
    const { WebSocket } = await import("ws");
    const upgrade = (path: string) => new Promise<number>((resolve) => {
      const socket = new WebSocket(`${s.url.replace("http", "ws")}${path}?access_token=${encodeURIComponent(s.tokens.read)}`);
      socket.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      socket.on("open", () => resolve(101));
      socket.on("error", () => resolve(-1));
    });
    expect(await upgrade("/runs/%E0%A4%A/live")).toBe(400);
    expect(await upgrade("/runs/%/live")).toBe(400);
    expect((await s.call("GET", "/health", { token: null })).status).toBe(200);
  });
});
