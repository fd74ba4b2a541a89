import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { rng, serverSandbox, type ServerSandbox } from "./helpers.js";

let s: ServerSandbox;
beforeAll(async () => (s = await serverSandbox()));
afterAll(async () => s?.close());

/** What one bad request came to: an HTTP status, or how a raw or WebSocket exchange ended. */
type Outcome = { readonly kind: "http"; readonly status: number; readonly what: string } | { readonly kind: "socket"; readonly what: string };

const BAD_SEGMENTS = ["%E0%A4%A", "%", "%ZZ", "%00", "%2e%2e", "..", "ü", "%F0%9F", "a".repeat(2000), "%E0%A4%A8", ""];

/** A raw HTTP exchange: writes the request, reads until the server closes or a second passes. */
function raw(port: number, request: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reply.split("\r\n")[0] ?? "");
    };
    const timer = setTimeout(done, 1000);
    socket.on("data", (c) => (reply += c.toString("latin1")));
    socket.on("close", done);
    socket.on("error", done);
    socket.write(request, () => socket.end());
  });
}

/** A WebSocket upgrade through the `ws` client: opened (then closed at once), or refused with a status. */
function upgrade(url: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    let socket: WebSocket;
    try {
      socket = new WebSocket(url, { headers, handshakeTimeout: 3000 });
    } catch (err) {
      resolve(`client refused: ${(err as Error).message}`);
      return;
    }
    socket.on("open", () => {
      socket.close();
      resolve("open");
    });
    socket.on("unexpected-response", (_req, res) => {
      resolve(`status ${res.statusCode}`);
      socket.terminate();
    });
    socket.on("error", (err) => resolve(`error ${err.message}`));
  });
}

/** An SSE stream read for a moment and then dropped by the client. */
async function sse(url: string, token: string | undefined): Promise<Outcome> {
  const abort = new AbortController();
  const response = await fetch(url, { signal: abort.signal, ...(token !== undefined && { headers: { Authorization: `Bearer ${token}` } }) });
  if (response.ok && response.body) {
    const reader = response.body.getReader();
    await Promise.race([reader.read(), new Promise((r) => setTimeout(r, 200))]);
    abort.abort();
    await reader.cancel().catch(() => undefined);
  } else {
    await response.text();
  }
  return { kind: "http", status: response.status, what: `SSE ${url}` };
}

/**
 * The server runs in this process, as `pipebook serve` runs it: a request that throws outside a
 * handler (the URIError of a malformed escape in an upgrade did) is an unhandled error, which
 * fails this run, where it ended the serve process.
 */
describe("soak", () => {
  it("answers generated bad requests of every kind while runs execute; stays up, and every accepted run ends", async () => {
    const r = rng(20261201);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const port = Number(new URL(s.url).port);
    const ws = s.url.replace("http", "ws");
    const tokens = [s.tokens.read, s.tokens.admin, s.tokens.submit, "nope", "", "%E0%A4%A"];
    const accepted: string[] = [];
    const submit = async (assignments: unknown, what: string): Promise<Outcome> => {
      const reply = await s.call("POST", `/pipelines/${s.published.id}/runs`, { token: s.tokens.submit, body: { ExperimentName: "soak", ParameterAssignments: assignments } });
      if (reply.status === 201) accepted.push((reply.body as { Id: string }).Id);
      return { kind: "http", status: reply.status, what };
    };
    const liveRun = (): string => accepted[accepted.length - 1] ?? s.firstRunId;
    const generators: (() => Promise<Outcome>)[] = [
      // Runs that must execute meanwhile, and values that must be refused where they enter.
      () => submit({ lr: Math.round(r() * 1000) / 1000 }, "valid run"),
      () => submit({ lr: 0.1, mode: `a${"\0"}b` }, "NUL in a value"),
      () => submit({ lr: 0.1, mode: "x".repeat(70_000) }, "70,000-character value"),
      () => submit({ lr: 0.1, mode: "€".repeat(30_000) }, "90,000-byte value"),
      () => submit({ lr: "0x10" }, "hex number"),
      () => submit(JSON.parse('{"__proto__": {"lr": 1}}'), "__proto__"),
      // WebSocket upgrades through a real client: malformed escapes, tokens, origins.
      async () => {
        const path = `/runs/${pick([...BAD_SEGMENTS, liveRun(), s.firstRunId])}/live`;
        const token = pick(tokens);
        const headers: Record<string, string> = r() < 0.3 ? { Origin: pick(["http://evil.example", "null", "%"]) } : {};
        return { kind: "socket", what: `upgrade ${path}: ${await upgrade(`${ws}${path}?access_token=${token}`, headers)}` };
      },
      // Raw upgrades: missing or wrong WebSocket headers, garbage, truncation.
      async () => {
        const path = `/runs/${pick([...BAD_SEGMENTS, liveRun()])}/live?access_token=${pick(tokens)}`;
        const lines = [`GET ${path} HTTP/1.1`, "Host: 127.0.0.1", "Connection: Upgrade", "Upgrade: websocket"];
        if (r() < 0.7) lines.push(`Sec-WebSocket-Key: ${pick(["dGhlIHNhbXBsZSBub25jZQ==", "", "%%%", "x".repeat(500)])}`);
        if (r() < 0.7) lines.push(`Sec-WebSocket-Version: ${pick(["13", "8", "99", ""])}`);
        if (r() < 0.3) lines.push(`X-Junk: ${"\u00ff".repeat(Math.floor(r() * 100))}`);
        let text = lines.join("\r\n") + "\r\n\r\n";
        if (r() < 0.3) text = text.slice(0, Math.floor(r() * text.length));
        return { kind: "socket", what: `raw upgrade ${path}: ${await raw(port, Buffer.from(text, "latin1"))}` };
      },
      // Raw garbage where an HTTP request should be.
      async () => ({ kind: "socket", what: `garbage: ${await raw(port, Buffer.from(Array.from({ length: 1 + Math.floor(r() * 300) }, () => Math.floor(r() * 256))))}` }),
      // SSE: malformed ids, query tokens, a live run's stream dropped at once.
      () => sse(`${s.url}/runs/${pick([...BAD_SEGMENTS, liveRun()])}/events?access_token=${encodeURIComponent(pick(tokens))}`, undefined),
      () => sse(`${s.url}/runs/${liveRun()}/events`, s.tokens.read),
      // Odd paths and queries on the REST routes.
      async () => {
        const path = "/" + Array.from({ length: 1 + Math.floor(r() * 4) }, () => pick(["runs", "pipelines", "schedules", "steps", "logs", "outputs", "events", "live", liveRun(), ...BAD_SEGMENTS])).join("/") + pick(["", "?limit=%ZZ", "?path=%E0%A4%A", "?limit=-1"]);
        const reply = await s.call(pick(["GET", "POST", "DELETE"]), path, { token: pick([s.tokens.read, s.tokens.admin, null]) });
        return { kind: "http", status: reply.status, what: `${path}` };
      },
    ];

    // Bounded by count and by time: the loop stops sending after 30 s whatever is left.
    const deadline = Date.now() + 30_000;
    const outcomes: Outcome[] = [];
    for (let batch = 0; batch < 40 && Date.now() < deadline; batch++) {
      outcomes.push(...(await Promise.all(Array.from({ length: 16 }, () => pick(generators)()))));
      // Still answering between batches.
      expect((await s.call("GET", "/health", { token: null })).status).toBe(200);
    }

    const fiveHundreds = outcomes.filter((o) => o.kind === "http" && o.status >= 500 && o.status !== 503);
    expect(fiveHundreds).toEqual([]);
    const refused = outcomes.filter((o) => o.kind === "http" && /NUL|value|hex|__proto__/.test(o.what));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.filter((o) => o.kind === "http" && o.status < 400)).toEqual([]);
    // Some of every kind were sent.
    expect(outcomes.filter((o) => o.what.startsWith("upgrade")).length).toBeGreaterThan(10);
    expect(outcomes.filter((o) => o.what.startsWith("raw upgrade")).length).toBeGreaterThan(10);
    expect(outcomes.filter((o) => o.what.startsWith("SSE")).length).toBeGreaterThan(10);
    expect(accepted.length).toBeGreaterThan(5);

    // Every run answered 201 ends, and completes: nothing sent beside it took a step down.
    for (const id of accepted) expect((await s.waitForRun(id, 60_000)).status).toBe("completed");
    const after = await s.call("POST", `/pipelines/${s.published.id}/runs`, { body: { ExperimentName: "after_soak", ParameterAssignments: { lr: 0.5 } } });
    expect(after.status).toBe(201);
    expect((await s.waitForRun((after.body as { Id: string }).Id)).status).toBe("completed");
  }, 90_000);

  it("tells browsers not to sniff types on every reply: routes, errors and step outputs", async () => {
    const outputs = await s.call("GET", `/runs/${s.firstRunId}/steps/train/outputs`, { token: s.tokens.read });
    for (const path of ["/health", "/runs", `/runs/${s.firstRunId}`, "/nope", "/runs/%E0%A4%A", ...(outputs.status === 200 ? [`/runs/${s.firstRunId}/steps/train/outputs/model?path=params.txt`] : [])]) {
      const reply = await s.call("GET", path, { token: s.tokens.read });
      expect([path, reply.headers.get("x-content-type-options")]).toEqual([path, "nosniff"]);
    }
  });

  it("refuses __proto__ in ParameterAssignments over REST instead of dropping it (found by the soak)", async () => {
    for (const value of ["1", '{"lr": 1}']) {
      const reply = await s.call("POST", `/pipelines/${s.published.id}/runs`, { raw: `{"ExperimentName": "proto", "ParameterAssignments": {"__proto__": ${value}}}`, headers: { "Content-Type": "application/json" } });
      expect(reply.status).toBe(400);
      expect((reply.body as { error: string }).error).toContain('parameter name "__proto__" is reserved');
    }
  });
});
