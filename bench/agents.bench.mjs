// Agents (issue 10): slot scheduling latency on an agent with a free slot (step ready → its
// process started on the agent), a trivial step on an agent over loopback against the same step
// on local compute, and moving a large input to an agent against a raw HTTP copy over loopback
// (second run: 0 bytes). One `pipebook agent` process with stand-in GPUs (PIPEBOOK_GPUS=0,1: this
// machine has none) dials a server started in this process. PIPEBOOK_BENCH_AGENT_MB sets the
// input's size (default 1024 = 1 GiB); the bench is not part of the test suite.
import { spawn } from "node:child_process";
import { createReadStream, createWriteStream, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline as pipe } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { ApiTokens, CommandStep, Experiment, Pipeline, PipelineData, RunConfiguration, Workspace } from "../engine/dist/index.js";
import { startServer } from "../engine/dist/server/startServer.js";
import { BlobClient } from "../engine/dist/blobs/BlobClient.js";

const CLI = fileURLToPath(new URL("../engine/bin/pipebook.js", import.meta.url));
const MB = Number(process.env.PIPEBOOK_BENCH_AGENT_MB ?? 1024);
const log = (...a) => console.error(...a);
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];
const median = (xs) => pct(xs, 50);
const ms = (iso) => Date.parse(iso);
const results = {};
const root = await mkdtemp(join(tmpdir(), "pipebook-bench-agents-"));
const ws = await Workspace.fromConfig({ path: join(root, "ws") });
ws.attachCompute("a100", { kind: "remote", labels: { gpu: "a100" } });
const tokens = new ApiTokens(ws);
const agentToken = tokens.create("agent", ["agent"]).token;
const adminToken = tokens.create("admin", ["admin"]).token;
const server = await startServer({ workspace: ws, port: 0, log: () => undefined, schedules: false });
const agent = spawn(process.execPath, [CLI, "agent", "--server", server.url, "--token", agentToken, "--name", "gpu-1", "--labels", "gpu=a100", "--dir", join(root, "agent")], {
  env: { ...process.env, PIPEBOOK_GPUS: "0,1" }, stdio: ["ignore", "ignore", "inherit"],
});
const run = async (steps, experiment = "bench") => (await new Experiment(ws, experiment).submit(new Pipeline(ws, { steps }))).waitForCompletion();
try {
  while (!server.agents.list().some((a) => a.status === "online")) await new Promise((r) => setTimeout(r, 20));

  // 1. Slot scheduling latency: a chain of trivial GPU steps, each ready when the one before it
  // ended (its end recorded) and started when its process started on the agent (recorded from the
  // agent's report). Includes offering the step's input by content and the hop over the WebSocket.
  {
    const N = 30;
    const datas = Array.from({ length: N }, (_, i) => new PipelineData(`d${i}`));
    const steps = datas.map((d, i) => new CommandStep({
      name: `s${i}`, allowReuse: false, computeTarget: "a100", runconfig: new RunConfiguration({ gpus: 1 }),
      command: `echo ${i} > "$PIPEBOOK_OUTPUT_D${i}/x"`, outputs: [d], ...(i > 0 && { inputs: [datas[i - 1]] }),
    }));
    const view = await run(steps);
    if (view.status !== "completed") throw new Error(`chain ${view.status}: ${view.error}`);
    const rows = ws.runs.getSteps(view.runId);
    const lat = [];
    for (let i = 1; i < N; i++) lat.push(ms(rows.find((r) => r.name === `s${i}`).startedAt) - ms(rows.find((r) => r.name === `s${i - 1}`).endedAt));
    results.slotLatencyP50Ms = median(lat);
    results.slotLatencyP95Ms = pct(lat, 95);
    results.slotLatencyGoalMs = 50;
    log(`slot scheduling latency over ${N - 1} steps: p50 ${results.slotLatencyP50Ms} ms, p95 ${results.slotLatencyP95Ms} ms (goal ≤ 50 ms)`);
  }

  // 2. A trivial step end to end (submit → run ended), on an agent over loopback and on local compute.
  {
    const N = 10;
    const one = async (target) => {
      const t0 = performance.now();
      const view = await run([new CommandStep({ name: "t", allowReuse: false, computeTarget: target, command: "true" })], `trivial-${target}`);
      if (view.status !== "completed") throw new Error(`trivial on ${target} ${view.status}: ${view.error}`);
      return performance.now() - t0;
    };
    await one("a100");
    await one("local");
    const agentMs = [];
    const localMs = [];
    for (let i = 0; i < N; i++) {
      agentMs.push(await one("a100"));
      localMs.push(await one("local"));
    }
    results.trivialAgentMs = Math.round(median(agentMs));
    results.trivialLocalMs = Math.round(median(localMs));
    results.trivialRatio = Number((results.trivialAgentMs / results.trivialLocalMs).toFixed(2));
    results.trivialRatioGoal = 3;
    log(`trivial step: agent ${results.trivialAgentMs} ms, local ${results.trivialLocalMs} ms, ratio ${results.trivialRatio} (goal ≤ 3)`);
  }

  // 3. A large input moved to the agent, against a raw HTTP copy of the same file over loopback.
  {
    const big = new PipelineData("big");
    const make = new CommandStep({ name: "make", command: `head -c ${MB * 1048576} /dev/urandom > "$PIPEBOOK_OUTPUT_BIG/input.bin"`, outputs: [big] });
    const use = () => new CommandStep({ name: "use", allowReuse: false, computeTarget: "a100", runconfig: new RunConfiguration({ gpus: 1 }), inputs: [big], command: `wc -c < "$PIPEBOOK_INPUT_BIG/input.bin"` });
    const first = await run([make, use()], "big");
    if (first.status !== "completed") throw new Error(`big run ${first.status}: ${first.error}`);
    const rows1 = ws.runs.getSteps(first.runId);
    const readyToStart1 = ms(rows1.find((r) => r.name === "use").startedAt) - ms(rows1.find((r) => r.name === "make").endedAt);
    const note1 = /\[pipebook\] inputs: ([^,]+) moved/.exec(first.steps.find((s) => s.name === "use").logTail)?.[1];
    const second = await run([make, use()], "big");
    const rows2 = ws.runs.getSteps(second.runId);
    const readyToStart2 = ms(rows2.find((r) => r.name === "use").startedAt) - ms(rows2.find((r) => r.name === "make").endedAt);
    const note2 = /\[pipebook\] inputs: ([^,]+) moved/.exec(second.steps.find((s) => s.name === "use").logTail)?.[1];
    const file = join(ws.dataDir, `${first.runId}.make`, "big", "input.bin");
    const bytes = statSync(file).size;

    // The agent's own download path (BlobClient GET, hashed as it arrives, renamed into place)
    // against a raw HTTP copy (a stream from a file to a file, nothing checked); interleaved.
    const raw = createServer((req, res) => {
      res.writeHead(200, { "Content-Length": bytes });
      createReadStream(file).pipe(res);
    });
    await new Promise((r) => raw.listen(0, "127.0.0.1", r));
    const rawCopy = async () => {
      const t0 = performance.now();
      await new Promise((resolve, reject) => get(`http://127.0.0.1:${raw.address().port}/`, (res) => pipe(res, createWriteStream(join(root, "raw.bin"))).then(resolve, reject)).on("error", reject));
      return performance.now() - t0;
    };
    const { sha256 } = await import("node:crypto").then((c) => ({ sha256: (p) => new Promise((res) => { const h = c.createHash("sha256"); createReadStream(p).on("data", (d) => h.update(d)).on("end", () => res(h.digest("hex"))); }) }));
    const digest = await sha256(file);
    const client = new BlobClient(server.url, adminToken);
    const blobCopy = async () => {
      await rm(join(root, "blob.bin"), { force: true });
      const t0 = performance.now();
      const r = await client.download(digest, join(root, "blob.bin"));
      if (r.bytes !== bytes) throw new Error(`moved ${r.bytes} of ${bytes}`);
      return performance.now() - t0;
    };
    const rawMs = [];
    const blobMs = [];
    for (let i = 0; i < 3; i++) {
      rawMs.push(await rawCopy());
      blobMs.push(await blobCopy());
    }
    raw.close();
    results.inputMiB = bytes / 1048576;
    results.rawHttpMiBps = Math.round(bytes / 1048576 / (median(rawMs) / 1000));
    results.blobDownloadMiBps = Math.round(bytes / 1048576 / (median(blobMs) / 1000));
    results.blobVsRawRatio = Number((median(rawMs) / median(blobMs)).toFixed(2));
    results.blobVsRawGoal = 0.8;
    results.firstRunReadyToStartMs = readyToStart1;
    results.firstRunInputMoved = note1;
    results.secondRunReadyToStartMs = readyToStart2;
    results.secondRunInputMoved = note2;
    log(`input of ${results.inputMiB} MiB: raw HTTP ${results.rawHttpMiBps} MiB/s, blob download ${results.blobDownloadMiBps} MiB/s (ratio ${results.blobVsRawRatio}, goal ≥ 0.8)`);
    log(`  first run: ready → started on the agent ${readyToStart1} ms, moved ${note1}; second run: ${readyToStart2} ms, moved ${note2}`);
  }
} finally {
  agent.kill("SIGTERM");
  await new Promise((r) => agent.once("exit", r));
  await server.close();
  await ws.close();
  await rm(root, { recursive: true, force: true });
}
writeFileSync(fileURLToPath(new URL("./results-agents.json", import.meta.url)), JSON.stringify({ ...results, measuredAt: new Date().toISOString() }, null, 2) + "\n");
console.log(JSON.stringify(results));
