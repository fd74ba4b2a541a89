import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "pipebook/server";
import { ApiTokens, Dataset, PipebookError, Workspace } from "pipebook";
import { CliError, describeCliFailure } from "../../engine/dist/cli/CliFailure.js";
import { PipelineFileError } from "../../engine/dist/cli/PipelineFileFailure.js";
import { loadPipelineFile } from "../../engine/dist/cli/loadPipelineFile.js";
import { DatastoreError } from "../../engine/dist/dsl/DatastoreFailure.js";
import { QueueError } from "../../engine/dist/server/QueueError.js";
import { WorkspaceError, describeWorkspaceFailure } from "../../engine/dist/workspace/WorkspaceFailure.js";
import { pipebook, sandbox, type Sandbox } from "./helpers.js";

// Issue 9 item 4: the CLI's, the workspace's and the server routes' expected failures are data
// (a reason and its facts) worded by their one describer, with the codes (exit 2, REST status) they had.
let sb: Sandbox;
beforeAll(async () => (sb = await sandbox()));
afterAll(async () => sb.close());

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(() => {
    throw new Error("expected a failure");
  }, (err: unknown) => err);
}

describe("failures of the CLI, the workspace and the server routes are data", () => {
  it("a pipeline file that is not there is a PipelineFileError with its file; the CLI prints its sentence, exit 2", async () => {
    const err = (await rejection(loadPipelineFile(join(sb.dir, "nope.ts")))) as PipelineFileError;
    expect(err).toBeInstanceOf(PipelineFileError);
    expect(err.failure).toEqual({ reason: "file-missing", file: join(sb.dir, "nope.ts") });
    expect(err.code).toBe("not-found");
    await writeFile(join(sb.dir, "empty.mjs"), "export const x = 1;\n");
    const none = (await rejection(loadPipelineFile(join(sb.dir, "empty.mjs")))) as PipelineFileError;
    expect(none.failure.reason).toBe("no-pipeline-export");
  });

  it("the CLI's own failures carry their facts; the sentence is the describer's; bad agent options exit 2 before anything starts", async () => {
    const err = new CliError({ reason: "run-ambiguous", idOrPrefix: "ab", matches: ["abc", "abd"] });
    expect(err).toBeInstanceOf(PipebookError);
    expect(err.message).toBe('"ab" matches several runs: abc, abd');
    expect(err.code).toBe("not-found");
    expect(new CliError({ reason: "one-of", options: ["--cron EXPRESSION", "--watch DATASTORE:PATH"] }).message).toBe("give exactly one of --cron EXPRESSION or --watch DATASTORE:PATH");
    const show = await pipebook(sb.dir, "show", "zzz");
    expect(show).toMatchObject({ code: 2, stderr: `pipebook: ${describeCliFailure({ reason: "run-unknown", idOrPrefix: "zzz", workspace: sb.ws.dir })}\n` });
    // Stand-in server URL: nothing listens there, and the --gpus check refuses before dialing.
    const gpus = await pipebook(sb.dir, "agent", "--server", "http://127.0.0.1:9", "--token", "t", "--gpus", "0,x");
    expect(gpus).toMatchObject({ code: 2, stderr: 'pipebook: --gpus takes auto, none or GPU indices such as 0,1 (got "0,x")\n' });
    const server = await pipebook(sb.dir, "agent", "--server", "ftp://trainer", "--token", "t");
    expect(server).toMatchObject({ code: 2, stderr: "pipebook: --server ftp://trainer is not an http(s) URL such as http://trainer:8123\n" });
  });

  it("an agent's own failures are AgentErrors: GPUs the machine lacks, a server that refuses its token (exit 2, one sentence)", async () => {
    // PIPEBOOK_GPUS stands in two GPUs (this machine may have none).
    const before = process.env["PIPEBOOK_GPUS"];
    process.env["PIPEBOOK_GPUS"] = "0,1";
    try {
      const gpus = await pipebook(sb.dir, "agent", "--server", "http://127.0.0.1:9", "--token", "t", "--gpus", "1,7", "--dir", join(sb.dir, "agent-a"));
      expect(gpus).toMatchObject({ code: 2, stderr: "pipebook: --gpus names GPU 7, which this machine does not have (it has 0, 1; PIPEBOOK_GPUS=0,1 stands in GPUs for a test)\n" });
    } finally {
      if (before === undefined) delete process.env["PIPEBOOK_GPUS"];
      else process.env["PIPEBOOK_GPUS"] = before;
    }
    const server = await startServer({ workspace: sb.ws, port: 0, log: () => undefined });
    try {
      const refused = await pipebook(sb.dir, "agent", "--server", server.url, "--token", "not-a-token", "--name", "a1", "--gpus", "none", "--dir", join(sb.dir, "agent-b"));
      expect(refused.code).toBe(2);
      expect(refused.stderr.split("\n").filter((l) => l.startsWith("pipebook: "))).toEqual([`pipebook: ${server.url} refused agent a1: the server answered 401 (the token is not an agent token of this server)`]);
    } finally {
      await server.close();
    }
  });

  it("a workspace's pipebook.json and datastore registration failures are WorkspaceErrors; bad datastore settings and an unknown default are the datastore's own failures", async () => {
    const root = await mkdtemp(join(tmpdir(), "pipebook-wsfail-"));
    try {
      await writeFile(join(root, "pipebook.json"), JSON.stringify({ defaultDatastore: "lake" }));
      const err = (await rejection(Workspace.fromConfig({ path: root }))) as WorkspaceError;
      expect(err).toBeInstanceOf(WorkspaceError);
      expect(err.failure).toEqual({ reason: "default-datastore-unknown", name: "lake", known: ["workspaceblobstore"] });
      expect(err.code).toBe("config-invalid");
      expect(err.message).toBe(describeWorkspaceFailure(err.failure));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
    const taken = (await rejection(sb.ws.registerDatastore("workspaceblobstore", { kind: "local", path: "x" }))) as WorkspaceError;
    expect(taken.failure).toEqual({ reason: "datastore-name-taken", name: "workspaceblobstore", by: "workspace" });
    expect(taken.code).toBe("datastore-error");
    const misnamed = (await rejection(sb.ws.registerDatastore("my-lake", { kind: "local", path: "x" }))) as DatastoreError;
    expect(misnamed).toBeInstanceOf(DatastoreError);
    expect(misnamed.failure).toEqual({ reason: "name-invalid", store: "my-lake" });
    expect(misnamed.message).toBe('datastore name "my-lake" must start with a letter or _ and hold only letters, digits and _');
    expect(misnamed.code).toBe("datastore-error");
    const unknown = (() => {
      try {
        sb.ws.setDefaultDatastore("lake");
      } catch (e) {
        return e as DatastoreError;
      }
      throw new Error("expected a failure");
    })();
    expect(unknown).toBeInstanceOf(DatastoreError);
    expect(unknown.failure).toEqual({ reason: "datastore-unknown", name: "lake", known: ["workspaceblobstore"] });
    expect(unknown.message).toBe('this workspace has no datastore named "lake" (it has workspaceblobstore)');
  });

  it("GET /datasets and /modules name what is missing with the dataset's and the module's own failures, 404; a bad queue limit is a QueueError", async () => {
    await sb.upload("rows/a.csv", "x,y\n1,2\n");
    await Dataset.Tabular.fromDelimitedFiles([[sb.ws.getDefaultDatastore(), "rows/a.csv"]]).register(sb.ws, { name: "rows" });
    const limit = (await rejection(startServer({ workspace: sb.ws, port: 0, maxRunningRuns: 0, log: () => undefined }))) as QueueError;
    expect(limit).toBeInstanceOf(QueueError);
    expect(limit.failure).toEqual({ reason: "limit-invalid", limit: "maxRunning", value: 0 });
    expect(limit.message).toBe("run queue maxRunning must be a whole number ≥ 1, got 0");
    expect(limit.code).toBe("config-invalid");
    const server = await startServer({ workspace: sb.ws, port: 0, log: () => undefined });
    try {
      const token = new ApiTokens(sb.ws).create("reader", ["read"]).token;
      const get = async (path: string) => {
        const r = await fetch(`${server.url}${path}`, { headers: { Authorization: `Bearer ${token}` } });
        return { status: r.status, body: (await r.json()) as { error: string; code: string } };
      };
      expect(await get("/datasets/rows/versions/7")).toMatchObject({ status: 404, body: { error: 'dataset "rows" has no version 7 (the latest is 1)', code: "not-found" } });
      expect(await get("/datasets/rows/versions/seven")).toMatchObject({ status: 404, body: { error: 'dataset "rows" has no version seven (the latest is 1)' } });
      expect(await get("/datasets/roses/versions/1")).toMatchObject({ status: 404, body: { error: 'no dataset named "roses" is registered in this workspace', code: "not-found" } });
      expect(await get("/modules/nope")).toMatchObject({ status: 404, body: { error: 'no module named "nope" exists in this workspace', code: "not-found" } });
    } finally {
      await server.close();
    }
  });
});
