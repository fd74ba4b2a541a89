import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rng, serverSandbox, type ServerSandbox } from "./helpers.js";

let s: ServerSandbox;
beforeAll(async () => (s = await serverSandbox()));
afterAll(async () => s?.close());

interface Case {
  readonly raw: string | Buffer;
  readonly contentType: string;
}

function generate(count: number): Case[] {
  const r = rng(20261122);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const junkValues: unknown[] = [null, 0, -1, 1e308, "", " ", "a".repeat(300), "bad name!", "ü∂", [], [1, 2], {}, { a: 1 }, true, false, "0.1", "../../etc"];
  const paramJunk: unknown[] = [null, [], [0.1], { v: 1 }, { lr: null }, { lr: [1] }, { lr: { x: 1 } }, { lr: "0.1" }, { mode: 3 }, { nope: 1 }, { lr: true }, "lr=1", 5, { "": 1 }, { lr: 0.1, extra: "x" }];
  const cases: Case[] = [];
  const json = (v: unknown): Case => ({ raw: JSON.stringify(v), contentType: "application/json" });
  const generators: (() => Case)[] = [
    // Not JSON at all, or truncated JSON.
    () => ({ raw: Buffer.from(Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256))), contentType: "application/json" }),
    () => {
      const text = JSON.stringify({ ExperimentName: "x", ParameterAssignments: { lr: 0.5 } });
      return { raw: text.slice(0, Math.floor(r() * (text.length - 1))), contentType: "application/json" };
    },
    // JSON that is not an object.
    () => json(pick(junkValues)),
    // Wrong ExperimentName.
    () => json({ ExperimentName: pick(junkValues.filter((v) => typeof v !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/.test(v))), ParameterAssignments: {} }),
    // Wrong ParameterAssignments (type or content).
    () => json({ ExperimentName: "fuzz", ParameterAssignments: pick(paramJunk) }),
    // Unknown fields, misspellings, wrong RunSource.
    () => json({ ExperimentName: "fuzz", [pick(["experimentName", "Parameters", "parameterAssignments", "__proto__x", "constructor", "RunSourc"])]: pick(junkValues) }),
    () => json({ ExperimentName: "fuzz", RunSource: pick([1, null, [], "x".repeat(100)]) }),
    () => json({ ExperimentName: "fuzz", RegenerateOutputs: pick(["yes", 1, null]) }),
    // Missing the required field.
    () => json({ ParameterAssignments: { lr: r() } }),
    // Not sent as JSON.
    () => ({ raw: JSON.stringify({ ExperimentName: "fuzz" }), contentType: pick(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) }),
    // Deep nesting and big bodies.
    () => ({ raw: "[".repeat(2000 + Math.floor(r() * 20000)), contentType: "application/json" }),
    () => json({ ExperimentName: "fuzz", ParameterAssignments: { lr: "x".repeat(300_000) } }),
    // Bad charset.
    () => ({ raw: JSON.stringify({ ExperimentName: "fuzz" }), contentType: "application/json; charset=klingon" }),
  ];
  for (let i = 0; i < count; i++) cases.push(pick(generators)());
  return cases;
}

describe("malformed bodies", () => {
  it("answers 1,200 generated malformed bodies with 4xx only, leaks nothing, starts nothing, and stays up", async () => {
    const cases = generate(1200);
    const before = s.sb.ws.runs.listRuns({ limit: 10_000 }).length;
    const paths = [`/pipelines/${s.published.id}/runs`, `/pipelines/${s.published.id}/runs`, `/runs/${s.firstRunId}/publish`];
    const statuses = new Map<number, number>();
    for (let i = 0; i < cases.length; i += 24) {
      await Promise.all(
        cases.slice(i, i + 24).map(async (c, j) => {
          const path = paths[(i + j) % paths.length]!;
          const response = await fetch(`${s.url}${path}`, {
            method: "POST",
            headers: { Authorization: `Bearer ${s.tokens.admin}`, "Content-Type": c.contentType },
            body: c.raw,
          });
          const text = await response.text();
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          if (response.status < 400 || response.status >= 500) throw new Error(`case ${i + j} (${path}) got ${response.status}: ${text.slice(0, 200)} for ${String(c.raw).slice(0, 200)}`);
          const body = JSON.parse(text) as { error: string };
          expect(typeof body.error).toBe("string");
          expect(text).not.toMatch(/node_modules|\.[jt]s:\d+|\bat [\w.<>]+ \(|\/tmp\/|SQLITE/);
        }),
      );
    }
    expect([...statuses.keys()].every((st) => st >= 400 && st < 500)).toBe(true);
    expect(statuses.get(400)).toBeGreaterThan(900);
    expect(statuses.get(413)).toBeGreaterThan(0);
    expect(s.sb.ws.runs.listRuns({ limit: 10_000 }).length).toBe(before);
    // Still serving, and still running valid requests.
    expect((await s.call("GET", "/health", { token: null })).status).toBe(200);
    const ok = await s.call("POST", `/pipelines/${s.published.id}/runs`, { body: { ExperimentName: "after_fuzz", ParameterAssignments: { lr: 0.125 } } });
    expect(ok.status).toBe(201);
    expect((await s.waitForRun((ok.body as { Id: string }).Id)).status).toBe("completed");
  });

  it("answers 600 generated odd paths and methods without a 5xx", async () => {
    const r = rng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const segments = ["runs", "pipelines", "endpoints", "schedules", "steps", "logs", "outputs", "events", "publish", "cancel", "default", "web", "..", ".", "%2e%2e", "%E0%A4%A", "%ZZ", "%00", "%", "ü", "a".repeat(3000), s.firstRunId, s.published.id, "train", "model", ""];
    const methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];
    for (let i = 0; i < 600; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const path = "/" + Array.from({ length: 1 + Math.floor(r() * 5) }, () => pick(segments)).join("/") + pick(["", "?version=%ZZ", "?limit=-1", "?path=../../x", "?limit=99999999999"]);
          const method = pick(methods);
          const response = await fetch(`${s.url}${path}`, { method, headers: { Authorization: `Bearer ${s.tokens.admin}` } });
          const text = await response.text();
          if (response.status >= 500) throw new Error(`${method} ${path} got ${response.status}: ${text.slice(0, 200)}`);
        }),
      );
    }
    expect((await s.call("GET", "/health", { token: null })).status).toBe(200);
  });
});
