import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPLY_SCHEMAS, RunViewSchema } from "pipebook/contract/rest";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CommandStep, DataReference, Experiment, Pipeline, PipelineData, PipelineEndpoint, PipelineRun, PublishedPipeline } from "pipebook";
import { serverSandbox, type ServerSandbox } from "./helpers.js";

let s: ServerSandbox;
beforeAll(async () => (s = await serverSandbox()));
afterAll(async () => s?.close());

type Json = Record<string, unknown>;

describe("published pipelines over REST", () => {
  it("runs a pipeline published from a run with ParameterAssignments that reach the step", async () => {
    const r = await s.call("POST", `/pipelines/${s.published.id}/runs`, {
      token: s.tokens.submit,
      body: { ExperimentName: "rest_call", RunSource: "API", ParameterAssignments: { lr: 0.25, mode: "slow" } },
    });
    expect(r.status).toBe(201);
    const reply = r.body as Json;
    expect(reply).toMatchObject({ ExperimentName: "rest_call", PipelineId: s.published.id, ParameterAssignments: { lr: 0.25, mode: "slow" } });
    const runId = reply["Id"] as string;
    const view = await s.waitForRun(runId);
    expect(view.status).toBe("completed");
    const train = view.steps.find((x) => x.name === "train")!;
    // The step ran (new parameter values are a new key), it did not reuse the notebook's run.
    expect(train.status).toBe("completed");
    expect(train.metrics).toEqual([{ name: "lr", points: [{ index: 0, value: 0.25 }] }]);
    expect(train.logTail).toContain("trained with lr=0.25");
    // The output file the step wrote, downloaded over REST.
    const file = await s.call("GET", `/runs/${runId}/steps/train/outputs/model?path=params.txt`, { token: s.tokens.read });
    expect(file.status).toBe(200);
    expect(file.text.trim()).toBe("lr=0.25 mode=slow");
    // ... and across the data edge into the next step's log.
    const logs = await s.call("GET", `/runs/${runId}/steps/evaluate/logs`, { token: s.tokens.read });
    expect(logs.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(logs.text).toContain("evaluated lr=0.25 mode=slow");
    const metrics = await s.call("GET", `/runs/${runId}/metrics`, { token: s.tokens.read });
    expect((metrics.body as { steps: Json[] }).steps[0]).toEqual({ name: "train", metrics: [{ name: "lr", points: [{ index: 0, value: 0.25 }] }] });
    const listed = await s.call("GET", `/runs/${runId}/steps/train/outputs`, { token: s.tokens.read });
    expect(listed.body).toMatchObject([{ name: "model", files: [{ path: "params.txt" }] }]);
    const runs = await s.call("GET", "/runs?limit=5", { token: s.tokens.read });
    expect((runs.body as { runs: Json[] }).runs[0]).toMatchObject({ runId, experiment: "rest_call", status: "completed", source: "api" });
  });

  it("uses the defaults when no assignments are given, and then reuses the notebook's step results", async () => {
    const r = await s.call("POST", `/pipelines/${s.published.id}/runs`, { body: { ExperimentName: "defaults" } });
    expect(r.status).toBe(201);
    const view = await s.waitForRun((r.body as Json)["Id"] as string);
    expect(view["parameters"]).toEqual({ lr: 0.01, mode: "fast" });
    expect(view.steps.map((x) => x.status)).toEqual(["reused", "reused"]);
  });

  it("refuses unknown parameters and wrong types with a 400 naming them, and starts nothing", async () => {
    const before = s.sb.ws.runs.listRuns({ limit: 500 }).length;
    const unknown = await s.call("POST", `/pipelines/${s.published.id}/runs`, { body: { ExperimentName: "x", ParameterAssignments: { learning_rate: 0.1 } } });
    expect(unknown.status).toBe(400);
    expect((unknown.body as Json)["error"]).toContain('unknown parameter "learning_rate" (the pipeline has lr, mode)');
    // An expected failure gives its data: clients switch on code and reason, never on the sentence.
    expect(unknown.body).toMatchObject({ code: "parameter-invalid", reason: "parameters-invalid" });
    const wrongType = await s.call("POST", `/pipelines/${s.published.id}/runs`, { body: { ExperimentName: "x", ParameterAssignments: { lr: "0.1" } } });
    expect(wrongType.status).toBe(400);
    expect((wrongType.body as Json)["error"]).toContain('parameter "lr" must be a number');
    const missing = await s.call("POST", `/pipelines/${s.published.id}/runs`, { body: { ParameterAssignments: {} } });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ fields: ["ExperimentName"], code: "request-invalid", reason: "body-invalid" });
    expect((missing.body as Json)["error"]).toContain('field "ExperimentName"');
    const extra = await s.call("POST", `/pipelines/${s.published.id}/runs`, { body: { ExperimentName: "x", ParameterAssigments: {} } });
    expect(extra.status).toBe(400);
    expect((extra.body as Json)["error"]).toBe('invalid body: unknown field "ParameterAssigments"');
    const nested = await s.call("POST", `/pipelines/${s.published.id}/runs`, { body: { ExperimentName: "x", ParameterAssignments: { lr: [1] } } });
    expect(nested.status).toBe(400);
    expect(nested.body).toMatchObject({ fields: ["ParameterAssignments.lr"] });
    expect(s.sb.ws.runs.listRuns({ limit: 500 }).length).toBe(before);
  });

  it("answers 404 for unknown pipelines, endpoints, versions, runs and routes", async () => {
    expect((await s.call("POST", "/pipelines/nope/runs", { body: { ExperimentName: "x" } })).body).toEqual({ error: 'no published pipeline "nope"', code: "not-found", reason: "pipeline-not-found" });
    expect((await s.call("GET", "/endpoints/nope")).status).toBe(404);
    expect((await s.call("GET", "/runs/nope")).body).toEqual({ error: 'no run "nope" in this workspace', code: "not-found", reason: "run-not-found" });
    expect((await s.call("GET", `/runs/${s.firstRunId}/steps/nope/logs`)).status).toBe(404);
    expect((await s.call("GET", `/runs/${s.firstRunId}/steps/train/outputs/model?path=../../../../etc/passwd`)).status).toBe(404);
    expect((await s.call("GET", "/no/such/route")).body).toEqual({ error: "no route GET /no/such/route" });
  });
});

describe("versioned endpoints", () => {
  it("runs the default version, a named version, and follows a changed default", async () => {
    const ws = s.sb.ws;
    const v2 = await (await PipelineRun.get(ws, s.firstRunId)).publishPipeline({ name: "Trainer", version: "2.0" });
    const endpoint = await PipelineEndpoint.publish(ws, { name: "TrainerEndpoint", pipeline: s.published, description: "fixed URL" });
    expect(endpoint.defaultVersion).toBe("0");
    expect(await endpoint.add(v2)).toBe("1");
    const listed = (await s.call("GET", "/endpoints", { token: s.tokens.read })).body as Json[];
    expect(listed.find((e) => e["name"] === "TrainerEndpoint")).toMatchObject({
      defaultVersion: "0", description: "fixed URL",
      versions: [{ version: "0", pipelineId: s.published.id }, { version: "1", pipelineId: v2.id }],
    });
    const pipelineOf = async (query: string): Promise<string | undefined> => {
      const r = await s.call("POST", `/endpoints/TrainerEndpoint/runs${query}`, { body: { ExperimentName: "ep", RunSource: "API", ParameterAssignments: { lr: 0.5 } } });
      expect(r.status).toBe(201);
      return (r.body as Json)["PipelineId"] as string | undefined;
    };
    expect(await pipelineOf("")).toBe(s.published.id);
    expect(await pipelineOf("?version=1")).toBe(v2.id);
    const missing = await s.call("POST", "/endpoints/TrainerEndpoint/runs?version=7", { body: { ExperimentName: "ep" } });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: 'pipeline endpoint "TrainerEndpoint" has no version "7" (it has 0, 1)', code: "not-found", reason: "version-not-found" });
    const changed = await s.call("PUT", "/endpoints/TrainerEndpoint/default", { body: { version: "1" } });
    expect(changed.status).toBe(200);
    expect(await pipelineOf("")).toBe(v2.id);
    // The SDK sees the same endpoint.
    const run = await (await PipelineEndpoint.get(ws, "TrainerEndpoint")).submit("sdk_ep", { pipelineVersion: "0", parameterAssignments: { mode: "sdk" } });
    const view = await run.waitForCompletion();
    expect(view.parameters).toEqual({ lr: 0.01, mode: "sdk" });
    // The studio's "runs of this endpoint": each with the version it used, newest first.
    const epRuns = ((await s.call("GET", "/endpoints/TrainerEndpoint/runs", { token: s.tokens.read })).body as { runs: Json[] }).runs;
    expect(epRuns.map((r) => [r["version"], r["pipelineId"], r["source"]])).toEqual([
      ["0", s.published.id, "sdk"], ["1", v2.id, "api"], ["1", v2.id, "api"], ["0", s.published.id, "api"],
    ]);
    const v2Runs = ((await s.call("GET", `/pipelines/${v2.id}/runs`, { token: s.tokens.read })).body as { runs: Json[] }).runs;
    expect(v2Runs).toHaveLength(2);
    expect(v2Runs.every((r) => r["experiment"] === "ep")).toBe(true);
  });

  it("publishes a run as an endpoint through POST /runs/{id}/publish (the workbench command)", async () => {
    const r = await s.call("POST", `/runs/${s.firstRunId}/publish`, { body: { name: "FromPanel", version: "3.1", description: "panel", endpoint: "FromPanel" } });
    expect(r.status).toBe(201);
    const reply = r.body as Json;
    expect(reply).toMatchObject({ endpoint: "FromPanel", version: "0", endpointVersion: "0", pipelineVersion: "3.1" });
    const again = await s.call("POST", `/runs/${s.firstRunId}/publish`, { body: { name: "FromPanel", version: "3.2", endpoint: "FromPanel" } });
    expect(again.body).toMatchObject({ version: "1" });
    expect((await PipelineEndpoint.get(s.sb.ws, "FromPanel")).defaultVersion).toBe("1");
    const bad = await s.call("POST", `/runs/${s.firstRunId}/publish`, { body: { name: "has space" } });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ fields: ["name"], code: "request-invalid", reason: "body-invalid" });
    expect((await s.call("POST", `/runs/${s.firstRunId}/publish`, { token: s.tokens.submit, body: { name: "X" } })).status).toBe(403);
  });
});

describe("disable and enable", () => {
  it("hides a disabled pipeline from lists, refuses its runs with 409, and runs it again once enabled", async () => {
    const p = await PublishedPipeline.get(s.sb.ws, s.published.id);
    await p.disable();
    const list = (await s.call("GET", "/pipelines")).body as Json[];
    expect(list.map((x) => x["id"])).not.toContain(p.id);
    const all = (await s.call("GET", "/pipelines?includeDisabled=true")).body as Json[];
    expect(all.find((x) => x["id"] === p.id)).toMatchObject({ enabled: false });
    const refused = await s.call("POST", `/pipelines/${p.id}/runs`, { body: { ExperimentName: "x" } });
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({ error: `published pipeline "Trainer" (${p.id}) is disabled; enable it to run it`, code: "disabled", reason: "pipeline-disabled" });
    await expect(p.submit("sdk")).rejects.toThrow(/is disabled/);
    const enabled = await s.call("POST", `/pipelines/${p.id}/enable`);
    expect(enabled.body).toMatchObject({ enabled: true });
    expect((await s.call("POST", `/pipelines/${p.id}/runs`, { body: { ExperimentName: "x" } })).status).toBe(201);
    expect((await s.call("POST", `/pipelines/${p.id}/disable`, { token: s.tokens.submit })).status).toBe(403);
  });
});

describe("documents", () => {
  it("serves an OpenAPI document whose request schema is the validating one", async () => {
    const r = await s.call("GET", "/openapi.json", { token: null });
    const doc = r.body as { openapi: string; paths: Record<string, Json>; components: { schemas: Record<string, Json> } };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/pipelines/{id}/runs", "/endpoints/{name}/runs", "/runs/{id}/events", "/runs/{id}/publish"]));
    expect(doc.components.schemas["RunRequest"]).toMatchObject({ required: ["ExperimentName"], additionalProperties: false });
  });

  it("documents only routes that exist: every documented route answers, none with 'no route', each reply as its documented schema", async () => {
    type Responses = Record<string, { content?: { "application/json": { schema: { $ref: string } } } }>;
    const doc = (await s.call("GET", "/openapi.json", { token: null })).body as { paths: Record<string, Record<string, { responses: Responses }>>; components: { schemas: Record<string, unknown> } };
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(Object.keys(REPLY_SCHEMAS)));
    let checked = 0;
    const fill = (path: string): string =>
      path.replace("{id}", s.firstRunId).replace("{step}", "train").replace("{name}", "model").replace(/\{\w+\}/g, "x");
    let probed = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const method of Object.keys(ops)) {
        if (path.endsWith("/live")) continue; // a WebSocket upgrade, tested in auth.test.ts
        const r = await s.call(method.toUpperCase(), fill(path), method === "get" || method === "head" ? {} : { body: {} });
        expect(JSON.stringify(r.body), `${method} ${path}`).not.toContain("no route");
        expect(r.status, `${method} ${path}`).toBeLessThan(500);
        // The reply is what the document says it is: the named schema for its status code.
        const ref = ops[method]!.responses[String(r.status)]?.content?.["application/json"].schema.$ref;
        if (ref !== undefined) {
          const name = ref.replace("#/components/schemas/", "") as keyof typeof REPLY_SCHEMAS;
          const parsed = REPLY_SCHEMAS[name].safeParse(r.body);
          expect(parsed.success, `${method} ${path} → ${r.status} as ${name}: ${parsed.error?.message ?? ""}`).toBe(true);
          checked++;
        }
        probed++;
      }
    }
    expect(probed).toBeGreaterThanOrEqual(24);
    expect(checked).toBeGreaterThanOrEqual(12);
  });

  it("refuses a run of a published pipeline whose input has gone, naming the step and the input (409), and starts nothing", async () => {
    const file = join(s.sb.dir, "table.csv");
    await writeFile(file, "a\n1\n");
    const store = s.sb.ws.getDefaultDatastore();
    await store.uploadFiles([file], { targetPath: "vanishing", overwrite: true });
    const table = new DataReference({ datastore: store, dataReferenceName: "table", pathOnDatastore: "vanishing/table.csv" });
    const reads = await PublishedPipeline.publish(
      new Pipeline(s.sb.ws, { steps: [new CommandStep({ name: "count", command: 'wc -l "$PIPEBOOK_INPUT_TABLE"', inputs: [table] })] }),
      { name: "ReadsTable" },
    );
    await rm(store.resolve("vanishing/table.csv"));
    const before = s.sb.ws.runs.listRuns({ experiment: "vanished" }).length;
    const r = await s.call("POST", `/pipelines/${reads.id}/runs`, { body: { ExperimentName: "vanished" } });
    expect(r.status).toBe(409);
    expect((r.body as Json)["error"]).toBe('step "count": DataReference "table" points at "vanishing/table.csv" on datastore workspaceblobstore, which does not exist');
    expect(s.sb.ws.runs.listRuns({ experiment: "vanished" })).toHaveLength(before);
  });

  it("serves no file through an output folder that its step replaced with a link out of the workspace", async () => {
    const secret = join(s.sb.dir, "..", `pipebook-secret-${process.pid}`);
    await mkdir(secret, { recursive: true });
    await writeFile(join(secret, "key.txt"), "secret");
    try {
      const out = new PipelineData("out");
      const run = await new Experiment(s.sb.ws, "swap").submit(new Pipeline(s.sb.ws, {
        steps: [new CommandStep({ name: "swap", allowReuse: false, outputs: [out], command: `rmdir "$PIPEBOOK_OUTPUT_OUT" && ln -s ${secret} "$PIPEBOOK_OUTPUT_OUT"` })],
      }));
      await run.waitForCompletion();
      const listed = await s.call("GET", `/runs/${run.id}/steps/swap/outputs`, { token: s.tokens.read });
      expect(listed.body).toEqual([expect.objectContaining({ name: "out", files: [] })]);
      const fetched = await s.call("GET", `/runs/${run.id}/steps/swap/outputs/out?path=key.txt`, { token: s.tokens.read });
      expect(fetched.status).toBe(404);
      expect(JSON.stringify(fetched.body)).not.toContain("secret\"");
    } finally {
      await rm(secret, { recursive: true, force: true });
    }
  });

  it("streams a run's views as server-sent events until it ends", async () => {
    // A step that waits for a file, so the stream sees the run running first and completed later.
    const gate = join(s.sb.dir, "sse-gate");
    const gated = await PublishedPipeline.publish(
      new Pipeline(s.sb.ws, { steps: [new CommandStep({ name: "wait", allowReuse: false, command: `while [ ! -f ${gate} ]; do sleep 0.05; done` })] }),
      { name: "SseGated" },
    );
    const r = await s.call("POST", `/pipelines/${gated.id}/runs`, { body: { ExperimentName: "sse" } });
    const runId = (r.body as Json)["Id"] as string;
    const response = await fetch(`${s.url}/runs/${runId}/events`, { headers: { Authorization: `Bearer ${s.tokens.read}` } });
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    // Read the stream as it comes; open the gate once the step is seen running. The server
    // closes the stream after the terminal view.
    const views: { status: string; steps: { status: string }[] }[] = [];
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of response.body!) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      const blocks = buffered.split("\n\n");
      buffered = blocks.pop()!;
      for (const b of blocks.filter((x) => x.startsWith("data: "))) {
        const view = RunViewSchema.parse(JSON.parse(b.slice(6)));
        views.push(view);
        if (view.steps[0]?.status === "running") await writeFile(gate, "");
      }
    }
    expect(views.map((v) => v.status)).toContain("running");
    expect(views.at(-1)!.status).toBe("completed");
  });
});
