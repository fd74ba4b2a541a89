import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandStep, Datastore, Pipeline, PipelineData, PipebookError } from "pipebook";
import { GraphError, describeGraphProblem } from "../../engine/dist/graph/GraphFailure.js";
import { DatastoreError, describeDatastoreFailure } from "../../engine/dist/dsl/DatastoreFailure.js";
import { DatasetError } from "../../engine/dist/datasets/DatasetFailure.js";
import { SubmitError } from "../../engine/dist/runner/SubmitFailure.js";
import { StepError } from "../../engine/dist/dsl/StepFailure.js";
import { resolveParameters } from "../../engine/dist/runner/resolveParameters.js";
import { toHttpError } from "../../engine/dist/server/toHttpError.js";
import { EXPECTED_FAILURE } from "../../engine/dist/contract/expectedFailure.js";
import { openDatabase, SCHEMA_VERSION } from "../../engine/dist/store/openDatabase.js";
import { StoreError } from "../../engine/dist/store/StoreFailure.js";
import { RemoteError } from "../../engine/dist/remote/RemoteError.js";
import { RemoteServer } from "../../engine/dist/remote/RemoteServer.js";
import { sandbox, type Sandbox } from "./helpers.js";

// Issue 9 item 4: an expected failure is data (a reason and its facts) worded by one describer;
// surfaces switch on the data, never on the sentence.
let sb: Sandbox;
beforeAll(async () => (sb = await sandbox()));
afterAll(async () => sb.close());

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a failure");
}

describe("one failure model", () => {
  it("a graph's problems are data, each worded by the one describer", () => {
    const made = new PipelineData("made");
    const step = (name: string) => new CommandStep({ name, command: "true", outputs: name === "a" ? [made] : [], computeTarget: "nowhere" });
    const err = caught(() => new Pipeline(sb.ws, { steps: [step("a"), step("b")] }).graph);
    expect(err).toBeInstanceOf(GraphError);
    expect(err).toBeInstanceOf(PipebookError);
    const g = err as GraphError;
    expect(g.code).toBe("graph-invalid");
    expect(g.failure.problems.map((p) => p.reason)).toEqual(["compute-unknown", "compute-unknown"]);
    expect(g.failure.problems[0]).toMatchObject({ step: "a", computeTarget: "nowhere" });
    expect(g.details).toEqual(g.failure.problems.map(describeGraphProblem));
    expect(g.message.split("\n")[0]).toBe("the pipeline is invalid (2 problems):");
  });

  it("a datastore's failure carries its facts; the message is the describer's sentence; the code follows the reason", () => {
    const store = Datastore.get(sb.ws, "workspaceblobstore");
    const err = caught(() => store.kind === "local" && store.resolve("../outside")) as DatastoreError;
    expect(err).toBeInstanceOf(DatastoreError);
    expect(err.failure).toEqual({ reason: "path-leaves", store: "workspaceblobstore", path: "../outside" });
    expect(err.message).toBe(describeDatastoreFailure(err.failure));
    expect(err.code).toBe("datastore-error");
    expect(err[EXPECTED_FAILURE]).toBe(true);
    expect(new DatastoreError({ reason: "nothing-at", store: "s", path: "p" }).code).toBe("source-missing");
  });

  it("parameters: one problem is the sentence, several are listed under one heading", () => {
    const declared = [{ name: "lr", type: "number" as const, defaultValue: 0.1 }];
    const one = caught(() => resolveParameters(declared, { lr: "fast" })) as SubmitError;
    expect(one).toBeInstanceOf(SubmitError);
    expect(one.failure.reason).toBe("parameters-invalid");
    expect(one.code).toBe("parameter-invalid");
    expect(one.message).toBe(one.failure.reason === "parameters-invalid" ? one.failure.problems[0] : "");
    const two = caught(() => resolveParameters(declared, { lr: "fast", other: 1 })) as SubmitError;
    expect(two.message.split("\n")[0]).toBe("invalid parameter assignments:");
    expect(two.details).toHaveLength(2);
  });

  it("a bad step declaration is an expected failure (it was a plain TypeError), its facts kept", () => {
    const err = caught(() => new CommandStep({ name: "s", command: "true", maxRetries: 9 })) as StepError;
    expect(err).toBeInstanceOf(StepError);
    expect(err.failure).toEqual({ reason: "retries-invalid", step: "s" });
    expect(err.message).toBe("step s: maxRetries must be a whole number from 0 to 5");
    expect(err.code).toBe("step-invalid");
    expect(err[EXPECTED_FAILURE]).toBe(true);
  });

  it("the REST mapper takes the status from the failure's reason, not from its words", () => {
    expect(toHttpError(new DatasetError({ reason: "dataset-unknown", name: "x" })).error.status).toBe(404);
    expect(toHttpError(new DatasetError({ reason: "no-paths" })).error.status).toBe(409);
    expect(toHttpError(new DatastoreError({ reason: "nothing-at", store: "s", path: "p" })).error.status).toBe(409);
    expect(toHttpError(new SubmitError({ reason: "concurrency-invalid", concurrency: 0 })).error).toMatchObject({ status: 400, message: "concurrency must be a whole number ≥ 1, got 0" });
  });

  it("a server reply of another shape is a remote workspace's expected failure naming the field, not a crash", async () => {
    // A stand-in for a pipebook server of another version: GET /runs answers a list that is not one.
    const other = createServer((req, res) => res.writeHead(200, { "Content-Type": "application/json" }).end(req.url === "/runs" ? '{"runs": 5}' : "<html>proxy</html>"));
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    try {
      const server = new RemoteServer(url, "t", "PIPEBOOK_TOKEN");
      const shape = await server.json("RunList", "GET", "/runs").catch((e: unknown) => e);
      expect(shape).toBeInstanceOf(RemoteError);
      expect(shape).toMatchObject({ code: "server-refused", failure: { reason: "reply-invalid", server: url } });
      expect((shape as RemoteError).message).toMatch(new RegExp(`^the pipebook server at ${url}: the server's reply is not a RunList at runs: .*same version as this client`));
      const page = await server.json("RunList", "GET", "/other").catch((e: unknown) => e);
      expect(page).toMatchObject({ failure: { reason: "reply-invalid" }, message: `the pipebook server at ${url}: its reply to GET /other is not JSON: "<html>proxy</html>"` });
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });

  it("a workspace written by a newer pipebook is an expected failure of the store (it was a plain Error), named after its subsystem", () => {
    const file = join(sb.dir, "newer.sqlite");
    const db = openDatabase(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const err = caught(() => openDatabase(file)) as StoreError;
    expect(err).toBeInstanceOf(StoreError);
    expect(err.failure).toEqual({ reason: "schema-newer", file, schema: SCHEMA_VERSION + 1, known: SCHEMA_VERSION });
    expect(err.code).toBe("workspace-incompatible");
    expect(err.name).toBe("StoreError");
    expect(err.message).toBe(`this workspace was written by a newer pipebook (schema ${SCHEMA_VERSION + 1}, this one knows ${SCHEMA_VERSION}); upgrade pipebook`);
    expect(err[EXPECTED_FAILURE]).toBe(true);
  });
});
