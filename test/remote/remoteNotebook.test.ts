import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiTokens } from "pipebook";
import { startServer, type RunningServer } from "pipebook/server";
import { openRunHistory } from "../../engine/dist/workspace/openRunHistory.js";
import { pipebook, sandbox, type Sandbox } from "../engine/helpers.js";
import { kernelEnv, runCells, type KernelEnv } from "../kernel/kernelHarness.js";

/**
 * A notebook whose folder's pipebook.json names a real `pipebook serve`, executed by nbconvert
 * with the real kernel: its step cells and a TypeScript submit run on the server, the saved
 * notebook holds the live run display the server's feed drew, and `why` answers from the server.
 */

const RUN_MIME = "application/vnd.pipebook.run+json";
interface Output { output_type: string; data?: Record<string, unknown>; text?: string | string[] }
interface Notebook { cells: { outputs?: Output[] }[] }
interface RunV { runId: string; status: string; steps: { name: string; status: string }[] }

const cell = (source: string) => ({ cell_type: "code", metadata: {}, execution_count: null, outputs: [], source });
const NOTEBOOK = {
  nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: "pipebook-test", display_name: "pipebook", language: "typescript" } },
  cells: [
    cell('%%step greet --outputs greeting --lang shell\necho "hello from the server" | tee "$PIPEBOOK_OUTPUT_GREETING/g.txt"'),
    cell('%%step shout --inputs greeting --lang shell\ntr a-z A-Z < "$PIPEBOOK_INPUT_GREETING/g.txt"'),
    cell("%pipeline run remote-nb"),
    cell('import { Experiment, Workspace } from "pipebook";\nconst ws = await Workspace.fromConfig();\nconst run = await new Experiment(ws, "remote-nb").submit(await notebookPipeline());\nconst final = await run.waitForCompletion();\nconsole.log(`server ${ws.remote?.url} run ${final.runId} uploaded ${JSON.stringify((run as { uploaded?: unknown }).uploaded)}`);\nfinal.steps.map((s) => `${s.name}: ${s.status}`).join(", ")'),
  ],
};

function nbconvert(k: KernelEnv, cwd: string, env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile("/usr/bin/jupyter", ["nbconvert", "--to", "notebook", "--execute", "remote.ipynb", "--output", "executed.ipynb", "--ExecutePreprocessor.kernel_name=pipebook-test", "--ExecutePreprocessor.timeout=120"],
      { cwd, env: { ...k.env, ...env }, timeout: 180_000 }, (err, _stdout, stderr) => resolve({ code: err ? 1 : 0, stderr }));
  });
}

describe("a notebook that submits to a pipebook server", () => {
  let k: KernelEnv;
  let sb: Sandbox;
  let server: RunningServer;
  let token: string;
  beforeAll(async () => {
    k = await kernelEnv();
    sb = await sandbox();
    token = new ApiTokens(sb.ws).create("notebook", ["read", "runs:submit"]).token;
    server = await startServer({ workspace: sb.ws, port: 0, log: () => undefined, schedules: false });
  });
  afterAll(async () => {
    await server?.close();
    await sb?.close();
    k?.cleanup();
  });

  it("runs its step cells on the server, shows the server's live run display, and why answers from the server", async () => {
    const dir = join(k.root, "remote-nb");
    mkdirSync(dir);
    writeFileSync(join(dir, "pipebook.json"), JSON.stringify({ server: server.url }));
    writeFileSync(join(dir, "remote.ipynb"), JSON.stringify(NOTEBOOK));
    // The token only in the environment: the notebook never holds it.
    const r = await nbconvert(k, dir, { PIPEBOOK_TOKEN: token, PIPEBOOK_SERVER: "" });
    expect(r.code, r.stderr.slice(-4000)).toBe(0);
    const saved = readFileSync(join(dir, "executed.ipynb"), "utf8");
    expect(saved).not.toContain(token);
    const nb = JSON.parse(saved) as Notebook;
    const outputs = nb.cells.flatMap((c) => c.outputs ?? []);
    expect(outputs.filter((o) => o.output_type === "error")).toEqual([]);
    const views = outputs.filter((o) => o.data?.[RUN_MIME]).map((o) => o.data![RUN_MIME] as RunV);
    expect(views.length).toBe(2);
    const [first, second] = views as [RunV, RunV];
    expect(first.status).toBe("completed");
    expect(first.steps.map((s) => [s.name, s.status])).toEqual([["greet", "completed"], ["shout", "completed"]]);
    // The display's fallbacks, drawn from the server's view.
    const shown = outputs.find((o) => o.data?.[RUN_MIME])!;
    expect(String(shown.data!["text/html"])).toContain("<svg");
    // Both runs are the server's: recorded in its store, and none in the notebook folder's.
    expect(sb.ws.runs.getRun(first.runId)?.source).toBe("kernel");
    expect(sb.ws.runs.getRun(second.runId)?.status).toBe("completed");
    const local = await openRunHistory(dir);
    expect(local.runs.getRun(first.runId)).toBeUndefined();
    local.close();
    // The second submit of the same cells reused both steps and uploaded none of its 4 code blobs (2 manifests, 2 files).
    expect(second.steps.map((s) => s.status)).toEqual(["reused", "reused"]);
    const printed = outputs.map((o) => (Array.isArray(o.text) ? o.text.join("") : (o.text ?? ""))).join("");
    expect(printed).toContain(`server ${server.url} run ${second.runId} uploaded {"blobs":4,"uploaded":0,"bytes":0}`);

    const why = await pipebookWithEnv(dir, token, "why", second.runId, "shout");
    expect(why.stdout).toContain(`reused: its key matches step run ${first.runId}.shout of run ${first.runId}`);
  }, 200_000);

  it("streams the server's run into the cell's display while it runs: shown before the end, updated in place to completed", async () => {
    const dir = join(k.root, "remote-live");
    mkdirSync(dir);
    writeFileSync(join(dir, "pipebook.json"), JSON.stringify({ server: server.url }));
    const results = await runCells({ ...k, env: { ...k.env, PIPEBOOK_TOKEN: token, PIPEBOOK_SERVER: "" } }, [
      '%%step wait --lang shell\necho started; sleep 1; echo done',
      "%pipeline run live",
    ], dir);
    const cellOutputs = results[1]!.outputs;
    expect(results[1]!.reply.status, JSON.stringify(cellOutputs).slice(0, 2000)).toBe("ok");
    const frames = cellOutputs.filter((o) => (o.content["data"] as Record<string, unknown> | undefined)?.[RUN_MIME]);
    const views = frames.map((o) => (o.content["data"] as Record<string, RunV>)[RUN_MIME]!);
    // First shown while the server had not finished it, then updated in place from its feed.
    expect(frames[0]!.type).toBe("display_data");
    expect(views[0]!.status).not.toBe("completed");
    expect(frames.slice(1).every((o) => o.type === "update_display_data")).toBe(true);
    expect(views.length).toBeGreaterThan(1);
    expect(views.at(-1)!.status).toBe("completed");
    expect(sb.ws.runs.getRun(views[0]!.runId)?.status).toBe("completed");
  }, 120_000);
});

async function pipebookWithEnv(dir: string, token: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const before = { token: process.env["PIPEBOOK_TOKEN"] };
  process.env["PIPEBOOK_TOKEN"] = token;
  try {
    return await pipebook(dir, ...args);
  } finally {
    if (before.token === undefined) delete process.env["PIPEBOOK_TOKEN"];
    else process.env["PIPEBOOK_TOKEN"] = before.token;
  }
}
