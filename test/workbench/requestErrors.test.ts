// The lab extension's one request function against a real pipebook server: an error reply's
// data (code and reason) reaches the extension beside its sentence, so the panel can switch on
// data, never on wording (issue 9, the failure model's REST surface).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiTokens } from "pipebook";
import { startServer, type RunningServer } from "pipebook/server";
import { configureServer, PipebookRequestError, requestAPI } from "../../jupyterlab-ext/src/request.js";
import { sandbox, type Sandbox } from "../engine/helpers.js";

let sb: Sandbox;
let server: RunningServer;
beforeAll(async () => {
  sb = await sandbox();
  server = await startServer({ workspace: sb.ws, port: 0, log: () => undefined });
  configureServer({ kind: "direct", url: server.url, token: new ApiTokens(sb.ws).create("lab", ["read", "runs:submit"]).token });
});
afterAll(async () => {
  configureServer(undefined);
  await server?.close();
  await sb?.close();
});

async function failure(path: string, options: Parameters<typeof requestAPI>[1] = {}): Promise<unknown> {
  try {
    await requestAPI(path, options);
  } catch (err) {
    return err;
  }
  throw new Error(`${path} did not fail`);
}

describe("requestAPI", () => {
  it("gives an expected failure's code and reason with its sentence", async () => {
    const missing = await failure("pipelines/nope");
    expect(missing).toBeInstanceOf(PipebookRequestError);
    expect((missing as PipebookRequestError).failure).toEqual({ reason: "http", status: 404, message: 'no published pipeline "nope"', code: "not-found", failureReason: "pipeline-not-found" });
    const badBody = await failure("runs", { method: "POST", body: { spec: 1 } });
    expect((badBody as PipebookRequestError).failure).toMatchObject({ reason: "http", status: 400, code: "request-invalid", failureReason: "body-invalid" });
  });

  it("keeps only the sentence where the server gives no data (no route)", async () => {
    const none = await failure("no/such/route");
    expect((none as PipebookRequestError).failure).toEqual({ reason: "http", status: 404, message: "no route GET /no/such/route" });
  });
});
