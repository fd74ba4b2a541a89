// Remote workspace (issue 10 item 6): a `pipebook serve` on loopback (started here) and a
// project that submits to it. Measures the blob transfer layer on one file
// (PIPEBOOK_BENCH_REMOTE_MB, default 64 MiB) against a raw HTTP PUT/GET of the same bytes to a
// plain node:http server that writes/reads a file (the same disk work, no hashing), the second
// upload of it (0 bytes), and a trivial step submitted to the server end to end against the same
// step run by a local workspace, fresh and reused. Medians of 3 rounds. Not part of the test
// suite; results also in bench/results-remote.json.
import { createReadStream, createWriteStream, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createHash, randomBytes } from "node:crypto";
import { createServer, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pipeline } from "node:stream/promises";
import { ApiTokens, BlobClient, CommandStep, Experiment, Pipeline, PipelineData, Workspace } from "../engine/dist/index.js";
import { startServer } from "../engine/dist/server/startServer.js";

const MB = Number(process.env.PIPEBOOK_BENCH_REMOTE_MB ?? 64);
const ROUNDS = 3;
const log = (...a) => console.error(...a);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = async (fn) => { const t = performance.now(); await fn(); return performance.now() - t; };
const round1 = (x) => Math.round(x * 10) / 10;
const root = await mkdtemp(join(tmpdir(), "pipebook-bench-remote-"));
const results = { fileMiB: MB };

const serverWs = await Workspace.fromConfig({ path: join(root, "server") });
const token = new ApiTokens(serverWs).create("bench", ["read", "runs:submit"]).token;
const server = await startServer({ workspace: serverWs, port: 0, log: () => undefined, schedules: false });

// The raw copy: PUT writes the body to a file, GET streams it back.
const rawFile = join(root, "raw.bin");
const raw = createServer((req, res) => {
  if (req.method === "PUT") pipeline(req, createWriteStream(rawFile)).then(() => res.end("ok"), () => res.destroy());
  else createReadStream(rawFile).pipe(res);
});
await new Promise((r) => raw.listen(0, "127.0.0.1", r));
const rawPort = raw.address().port;
const rawCall = (method, file) => new Promise((resolve, reject) => {
  const q = request({ host: "127.0.0.1", port: rawPort, method, path: "/", headers: method === "PUT" ? { "Content-Length": MB << 20 } : {} }, (res) => {
    (method === "GET" ? pipeline(res, createWriteStream(file)) : (res.resume(), new Promise((r) => res.on("end", r)))).then(resolve, reject);
  });
  q.on("error", reject);
  if (method === "PUT") createReadStream(file).pipe(q);
  else q.end();
});

try {
  const client = new BlobClient(server.url, token);
  const up = [], rawUp = [], down = [], rawDown = [], again = [];
  for (let i = 0; i < ROUNDS; i++) {
    const file = join(root, `in-${i}.bin`);
    const data = randomBytes(MB << 20);
    writeFileSync(file, data);
    const digest = createHash("sha256").update(data).digest("hex");
    rawUp.push(await time(() => rawCall("PUT", file)));
    let moved = 0;
    up.push(await time(async () => { moved = (await client.upload(digest, file)).bytes; }));
    if (moved !== MB << 20) throw new Error(`upload moved ${moved} bytes`);
    let second = -1;
    again.push(await time(async () => { second = (await client.upload(digest, file)).bytes; }));
    results.secondUploadBytes = second;
    rawDown.push(await time(() => rawCall("GET", join(root, `raw-out-${i}.bin`))));
    down.push(await time(() => client.download(digest, join(root, `out-${i}.bin`))));
    log(`round ${i}: upload ${up.at(-1).toFixed(0)} ms (raw ${rawUp.at(-1).toFixed(0)}), download ${down.at(-1).toFixed(0)} ms (raw ${rawDown.at(-1).toFixed(0)})`);
  }
  results.uploadMs = round1(median(up));
  results.rawPutMs = round1(median(rawUp));
  results.uploadVsRaw = round1((median(rawUp) / median(up)) * 100) / 100;
  results.downloadMs = round1(median(down));
  results.rawGetMs = round1(median(rawDown));
  results.downloadVsRaw = round1((median(rawDown) / median(down)) * 100) / 100;
  results.secondUploadMs = round1(median(again));

  // A trivial step: fresh (a new command each round, so it runs) and reused (the same again).
  const local = await Workspace.fromConfig({ path: join(root, "local") });
  process.env.PIPEBOOK_TOKEN = token;
  const remote = await Workspace.fromConfig({ path: join(root, "laptop"), server: server.url });
  const trivial = (ws, i) => new Pipeline(ws, { steps: [new CommandStep({ name: "trivial", command: `echo round ${i}` })] });
  const runOnce = async (ws, i) => {
    const view = await (await new Experiment(ws, "bench").submit(trivial(ws, i), { onPrepare: () => undefined })).waitForCompletion();
    if (view.status !== "completed") throw new Error(`run ${view.runId} ${view.status}`);
  };
  const localFresh = [], remoteFresh = [], localReused = [], remoteReused = [];
  for (let i = 0; i < ROUNDS; i++) {
    localFresh.push(await time(() => runOnce(local, `l${i}`)));
    localReused.push(await time(() => runOnce(local, `l${i}`)));
    remoteFresh.push(await time(() => runOnce(remote, `r${i}`)));
    remoteReused.push(await time(() => runOnce(remote, `r${i}`)));
  }
  results.trivialStepLocalMs = round1(median(localFresh));
  results.trivialStepRemoteMs = round1(median(remoteFresh));
  results.trivialStepRemoteVsLocal = round1((median(remoteFresh) / median(localFresh)) * 100) / 100;
  results.reusedLocalMs = round1(median(localReused));
  results.reusedRemoteMs = round1(median(remoteReused));

  // A run's output to the laptop: a step on the server writes MB MiB; run.downloadOutputs fetches
  // it (the server hashes the output and keeps its files in its blob store, the client downloads
  // them by content), then again (0 bytes: the file is here with the same SHA-256).
  const outFresh = [], outAgain = [];
  for (let i = 0; i < ROUNDS; i++) {
    const data = new PipelineData("data");
    const make = new CommandStep({ name: "make", outputs: [data], command: `head -c ${MB << 20} /dev/urandom > "$PIPEBOOK_OUTPUT_DATA/d.bin"` });
    const run = await new Experiment(remote, "bench-out").submit(new Pipeline(remote, { steps: [make] }), { regenerateOutputs: true, onPrepare: () => undefined });
    if ((await run.waitForCompletion()).status !== "completed") throw new Error(`run ${run.id} did not complete`);
    const dest = join(root, `dl-${i}`);
    let report;
    outFresh.push(await time(async () => { report = await run.downloadOutputs(dest); }));
    if (report.bytes !== MB << 20) throw new Error(`output download moved ${report.bytes} bytes`);
    outAgain.push(await time(async () => { report = await run.downloadOutputs(dest); }));
    results.secondOutputDownloadBytes = report.bytes;
    log(`round ${i}: output download ${outFresh.at(-1).toFixed(0)} ms, again ${outAgain.at(-1).toFixed(0)} ms (${report.bytes} bytes)`);
  }
  results.outputDownloadMs = round1(median(outFresh));
  results.outputDownloadVsRawGet = round1((median(rawDown) / median(outFresh)) * 100) / 100;
  results.secondOutputDownloadMs = round1(median(outAgain));
  await local.close();
  await remote.close();
} finally {
  raw.close();
  await server.close();
  await serverWs.close();
  await rm(root, { recursive: true, force: true });
}
writeFileSync(fileURLToPath(new URL("./results-remote.json", import.meta.url)), JSON.stringify({ ...results, measuredAt: new Date().toISOString() }, null, 2) + "\n");
console.log(JSON.stringify(results));
