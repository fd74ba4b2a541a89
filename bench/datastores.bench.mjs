// Datastores (issue 14): an Azure Blob datastore against Azurite on loopback (started here):
// upload and download of one large file (PIPEBOOK_BENCH_DATASTORE_MB, default 64 MiB) against a
// plain file copy, and a step reading a 200-file blob folder: first run (listing, download,
// run) against a no-op rerun (listing only: the digest comes from Content-MD5, nothing is
// downloaded). Not part of the test suite; results also in bench/results-datastores.json.
import { spawn } from "node:child_process";
import { copyFileSync, readdirSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CommandStep, DataReference, Datastore, Experiment, Pipeline, Workspace } from "../engine/dist/index.js";

const MB = Number(process.env.PIPEBOOK_BENCH_DATASTORE_MB ?? 64);
const log = (...a) => console.error(...a);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = async (fn) => { const t = performance.now(); await fn(); return performance.now() - t; };
const KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const results = { largeFileMiB: MB };
const root = await mkdtemp(join(tmpdir(), "pipebook-bench-datastores-"));
const port = await new Promise((resolve) => { const s = createServer(); s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); }); });
const azurite = spawn(process.execPath, [fileURLToPath(new URL("../node_modules/azurite/dist/src/blob/main.js", import.meta.url)),
  "--silent", "--skipApiVersionCheck", "--loose", "--location", join(root, "azurite"), "--blobHost", "127.0.0.1", "--blobPort", String(port)], { stdio: "ignore" });
while (!(await new Promise((r) => { const c = connect(port, "127.0.0.1"); c.once("connect", () => { c.destroy(); r(true); }); c.once("error", () => r(false)); }))) await new Promise((r) => setTimeout(r, 50));
process.env.PIPEBOOK_BENCH_AZURITE = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${KEY};BlobEndpoint=http://127.0.0.1:${port}/devstoreaccount1;`;
const ws = await Workspace.fromConfig({ path: join(root, "ws") });
try {
  const store = await Datastore.registerAzureBlobContainer(ws, { name: "bench", accountName: "devstoreaccount1", containerName: "bench", connectionStringEnv: "PIPEBOOK_BENCH_AZURITE", createIfNotExists: true });
  const big = join(root, "big.bin");
  writeFileSync(big, randomBytes(MB << 20));
  const up = [], down = [], copy = [];
  for (let i = 0; i < 3; i++) {
    up.push(await time(() => store.uploadFiles([big], { targetPath: "large", overwrite: true })));
    const out = join(root, `dl${i}`);
    down.push(await time(() => store.download(out, { prefix: "large/big.bin" })));
    copy.push(await time(async () => copyFileSync(big, join(root, `copy${i}.bin`))));
  }
  results.uploadMiBps = Math.round(MB / (median(up) / 1000));
  results.downloadMiBps = Math.round(MB / (median(down) / 1000));
  results.plainCopyMiBps = Math.round(MB / (median(copy) / 1000));
  log(`${MB} MiB: upload ${results.uploadMiBps} MiB/s, download ${results.downloadMiBps} MiB/s (MD5 checked), plain file copy ${results.plainCopyMiBps} MiB/s`);

  const folder = join(root, "many");
  await mkdir(folder);
  for (let i = 0; i < 200; i++) await writeFile(join(folder, `f${String(i).padStart(3, "0")}.csv`), `i\n${i}\n`);
  await store.uploadDirectory(folder, { targetPath: "many" });
  const ref = new DataReference({ datastore: store, dataReferenceName: "many", pathOnDatastore: "many" });
  const step = () => new CommandStep({ name: "count", command: 'ls "$PIPEBOOK_INPUT_MANY" | wc -l', inputs: [ref] });
  const run = async () => (await new Experiment(ws, "bench").submit(new Pipeline(ws, { steps: [step()] }))).waitForCompletion();
  let first;
  results.firstRunMs = Math.round(await time(async () => { first = await run(); }));
  if (first.steps[0].status !== "completed") throw new Error(`first run: ${first.steps[0].status} ${first.steps[0].error ?? ""}`);
  const copies = readdirSync(join(ws.dir, "remote")).length;
  const reruns = [];
  for (let i = 0; i < 5; i++) {
    let v;
    reruns.push(await time(async () => { v = await run(); }));
    if (v.steps[0].status !== "reused") throw new Error(`rerun: ${v.steps[0].status}`);
  }
  results.noopRerunMs = Math.round(median(reruns));
  results.noopRerunDownloads = readdirSync(join(ws.dir, "remote")).length - copies;
  log(`step reading 200 blobs: first run ${results.firstRunMs} ms (listing + download + run), no-op rerun ${results.noopRerunMs} ms (listing only), copies made by the reruns: ${results.noopRerunDownloads}`);
} finally {
  await ws.close();
  azurite.kill("SIGTERM");
  await new Promise((r) => azurite.once("exit", r));
  await rm(root, { recursive: true, force: true });
}
writeFileSync(fileURLToPath(new URL("./results-datastores.json", import.meta.url)), JSON.stringify({ ...results, measuredAt: new Date().toISOString() }, null, 2) + "\n");
console.log(JSON.stringify(results));
