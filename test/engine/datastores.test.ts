// Named datastores, the Azure Blob kind against a real Blob service (this run's Azurite, started
// by test/support/globalSetup.ts), blob inputs in step keys, datasets from step outputs, transfers.
import { readdirSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import {
  AzureBlobDatastore, CommandStep, DataReference, DataTransferStep, Dataset, Datastore, Experiment, OutputFileDatasetConfig, Pipeline, PipelineData, PipelineRun,
  PublishedPipeline, TabularDataset, Workspace,
  type PipelineStep, type RunView,
} from "pipebook";
import { Schedule } from "pipebook";
import { Scheduler } from "../../engine/dist/schedules/Scheduler.js";
import { ComputeTarget, Environment, RunConfiguration } from "pipebook";
import { dockerHost, testImage } from "../support/docker.js";
import { pipebook, sandbox, type Sandbox } from "./helpers.js";

const CS_ENV = "PIPEBOOK_TEST_AZURITE";
let sb: Sandbox;
let container = 0;

beforeEach(async () => {
  const cs = inject("azuriteConnectionString");
  if (!cs) throw new Error(`no Azurite for this run: ${inject("azuriteError")}`);
  process.env[CS_ENV] = cs;
  sb = await sandbox();
});
afterEach(async () => sb.close());

/** A new container per test (Azurite is shared by the whole run). */
function blobStore(name = "shared", ws: Workspace = sb.ws): Promise<AzureBlobDatastore> {
  return Datastore.registerAzureBlobContainer(ws, {
    name, accountName: "devstoreaccount1", containerName: `t${process.pid}-${Date.now().toString(36)}-${container++}`, connectionStringEnv: CS_ENV, createIfNotExists: true,
  });
}

async function submit(steps: PipelineStep[]): Promise<RunView> {
  const run = await new Experiment(sb.ws, "data").submit(new Pipeline(sb.ws, { steps }));
  return run.waitForCompletion();
}

const step = (view: RunView, name: string) => view.steps.find((s) => s.name === name)!;

describe("an Azure Blob datastore", () => {
  it("uploads and downloads files and folders with the overwrite rules, reports progress, and is kept by name without its secret", async () => {
    const store = await blobStore();
    const a = await sb.write("in/a.csv", "x\n1\n");
    await sb.write("in/nested/b.txt", "b");
    expect(await store.uploadFiles([a], { targetPath: "train" })).toEqual(["train/a.csv"]);
    await expect(store.uploadFiles([a], { targetPath: "train" })).rejects.toThrow('datastore shared already has "train/a.csv"; pass overwrite: true to replace it');
    await writeFile(a, "x\n2\n");
    await store.uploadFiles([a], { targetPath: "train", overwrite: true });
    await store.uploadDirectory(join(sb.dir, "in"), { targetPath: "folder" });
    await expect(store.uploadDirectory(join(sb.dir, "in"), { targetPath: "folder" })).rejects.toThrow('datastore shared already has "folder"; pass overwrite: true to replace it');
    // A large file goes up in 4 MiB blocks, each reported.
    const big = await sb.write("big.bin", "");
    await writeFile(big, randomBytes(9 << 20));
    const seen: number[] = [];
    await store.uploadFiles([big], { targetPath: "large", onProgress: (p) => seen.push(p.loadedBytes) });
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.at(-1)).toBe(9 << 20);

    const out = await mkdtemp(join(tmpdir(), "pipebook-dl-"));
    try {
      expect(await readFile(await store.download(out, { prefix: "train/a.csv" }), "utf8")).toBe("x\n2\n");
      const dest = await store.download(out, { prefix: "folder" });
      expect(await readFile(join(dest, "nested", "b.txt"), "utf8")).toBe("b");
      expect(await readFile(join(dest, "a.csv"), "utf8")).toBe("x\n2\n");
      await expect(store.download(out, { prefix: "folder" })).rejects.toThrow(/exists; pass overwrite: true/);
      await expect(store.download(out, { prefix: "nothing" })).rejects.toThrow('datastore shared has nothing at "nothing"');
      const down: number[] = [];
      expect((await readFile(await store.download(out, { prefix: "large/big.bin", onProgress: (p) => down.push(p.loadedBytes) }))).equals(await readFile(big))).toBe(true);
      expect(down.at(-1)).toBe(9 << 20);
    } finally {
      await rm(out, { recursive: true, force: true });
    }

    // Kept in the store by name, found again by a new process; the secret is not in the store.
    sb.ws.setDefaultDatastore("shared");
    const dir = sb.ws.dir;
    await sb.ws.close();
    const again = await Workspace.fromConfig({ path: sb.dir });
    (sb as { ws: Workspace }).ws = again;
    expect([...again.datastores.keys()].sort()).toEqual(["shared", "workspaceblobstore"]);
    expect(again.getDefaultDatastore().name).toBe("shared");
    expect(await (Datastore.get(again, "shared") as AzureBlobDatastore).exists("train/a.csv")).toBe(true);
    const listed = (await pipebook(sb.dir, "datastores")).stdout;
    expect(listed).toMatch(new RegExp(`^shared \\(default\\) +azure-blob +account devstoreaccount1, container ${store.containerName} +\\$${CS_ENV}$`, "m"));
    expect(listed).toMatch(/^workspaceblobstore +local +\/\S+workspaceblobstore *$/m);
    const db = await readFile(join(dir, "pipebook.db"));
    expect(db.includes("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq")).toBe(false);
    expect(db.includes(CS_ENV)).toBe(true);
  });

  it("is a step input by content: changed content reruns the step, the same content rewritten does not, and why says which input changed", async () => {
    const store = await blobStore();
    const file = await sb.write("raw.csv", "a,b\n1,2\n");
    await store.uploadFiles([file], { targetPath: "raw" });
    const make = () => new CommandStep({
      name: "read", command: `${sb.counter("read")}; cp "$PIPEBOOK_INPUT_RAW" "${join(sb.dir, "seen.csv")}"`,
      inputs: [new DataReference({ datastore: store, dataReferenceName: "raw", pathOnDatastore: "raw/raw.csv" })],
    });
    const first = await submit([make()]);
    expect(step(first, "read").error ?? "").toBe("");
    expect(step(first, "read").status).toBe("completed");
    expect(await readFile(join(sb.dir, "seen.csv"), "utf8")).toBe("a,b\n1,2\n");
    // Rewritten with the same bytes (a new ETag): reused, nothing downloaded again.
    await store.uploadFiles([file], { targetPath: "raw", overwrite: true });
    expect(step(await submit([make()]), "read").status).toBe("reused");
    await writeFile(file, "a,b\n1,3\n");
    await store.uploadFiles([file], { targetPath: "raw", overwrite: true });
    const changed = await submit([make()]);
    expect(step(changed, "read").status).toBe("completed");
    expect(step(changed, "read").why).toMatch(/input raw/);
    expect(await readFile(join(sb.dir, "seen.csv"), "utf8")).toBe("a,b\n1,3\n");
    expect(await sb.count("read")).toBe(2);
    // The local copies are a cache: gc removes them (sealed read-only as they are) when no run is active.
    expect(readdirSync(join(sb.ws.dir, "remote"))).toHaveLength(2);
    const gc = await pipebook(sb.dir, "gc");
    expect(gc.stdout).toContain("copy of blob datastore content (downloaded again when a step reads it)");
    expect(readdirSync(join(sb.ws.dir, "remote"))).toEqual([]);
  });

  it("retries transient errors: through a proxy answering every other request 503 Server Busy, register, upload and download succeed", async () => {
    const blobPort = Number(/BlobEndpoint=http:\/\/127.0.0.1:(\d+)/.exec(process.env[CS_ENV]!)![1]);
    let requests = 0;
    let injected = 0;
    const proxy = createServer((req, res) => {
      if (requests++ % 2 === 0) {
        injected++;
        req.resume();
        res.writeHead(503, { "x-ms-error-code": "ServerBusy" }).end();
        return;
      }
      const up = request({ host: "127.0.0.1", port: blobPort, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on("error", () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    try {
      const port = (proxy.address() as AddressInfo).port;
      process.env["PIPEBOOK_TEST_FLAKY"] = process.env[CS_ENV]!.replace(/BlobEndpoint=http:\/\/127.0.0.1:\d+/, `BlobEndpoint=http://127.0.0.1:${port}`);
      const store = await Datastore.registerAzureBlobContainer(sb.ws, {
        name: "flaky", accountName: "devstoreaccount1", containerName: `t${process.pid}-flaky-${container++}`, connectionStringEnv: "PIPEBOOK_TEST_FLAKY", createIfNotExists: true,
      });
      const file = await sb.write("f/data.csv", "a\n1\n");
      await store.uploadFiles([file], { targetPath: "in" });
      const out = await mkdtemp(join(sb.dir, "dl-"));
      expect(await readFile(await store.download(out, { prefix: "in/data.csv" }), "utf8")).toBe("a\n1\n");
      expect(injected).toBeGreaterThanOrEqual(4);
    } finally {
      proxy.close();
    }
  });

  it("digests a blob written without Content-MD5 by reading it once per ETag, to the same digest as with one", async () => {
    const store = await blobStore();
    const file = await sb.write("m/data.csv", "a\n1\n");
    await store.uploadFiles([file], { targetPath: "with" });
    // Another tool's block upload: the service keeps no MD5 for a committed block list.
    const { BlobServiceClient } = await import("@azure/storage-blob");
    const blob = BlobServiceClient.fromConnectionString(process.env[CS_ENV]!).getContainerClient(store.containerName).getBlockBlobClient("without/data.csv");
    const id = Buffer.from("block-0").toString("base64");
    await blob.stageBlock(id, Buffer.from("a\n1\n"), 4);
    await blob.commitBlockList([id]);
    const [listed] = await store.list("without/data.csv");
    expect(listed!.md5).toBeUndefined();
    const withMd5 = await store.content("with/data.csv");
    const without = await store.content("without/data.csv");
    expect(without.digest).toBe(withMd5.digest);
    // Recorded by its ETag: a second digest reads nothing (the record is there), a rewrite is read again.
    expect(sb.ws.statCache.lookupStamp(`${store.url()}without/data.csv`, listed!.etag)).toBe(without.entries[0]!.md5);
    await blob.stageBlock(id, Buffer.from("a\n2\n"), 4);
    await blob.commitBlockList([id]);
    expect((await store.content("without/data.csv")).digest).not.toBe(withMd5.digest);
  });

  it("is watched by a data-change schedule: a changed blob under the path fires it, by its listing", async () => {
    const store = await blobStore();
    const published = await new Pipeline(sb.ws, { steps: [new CommandStep({ name: "s", command: "true" })] }).publish({ name: "on_blob" });
    let clock = Date.now();
    const fired: string[] = [];
    const scheduler = new Scheduler(sb.ws, (row) => { fired.push(row.id); return Promise.resolve(`run-${fired.length}`); }, { now: () => clock });
    try {
      const schedule = await Schedule.create(sb.ws, {
        name: "blob_watch", target: { kind: "pipeline", id: published.id }, experiment: "watch",
        trigger: { kind: "datastore", datastore: "shared", path: "incoming", pollSeconds: 1 },
      });
      await scheduler.tick();
      clock += 1500;
      await scheduler.tick(); // the baseline: nothing there yet
      expect(fired).toEqual([]);
      await store.uploadFiles([await sb.write("b/batch.csv", "a\n1\n")], { targetPath: "incoming" });
      clock += 1500;
      await scheduler.tick();
      expect(fired).toEqual([schedule.id]);
      clock += 1500;
      await scheduler.tick(); // unchanged: no second run
      expect(fired).toHaveLength(1);
      expect(schedule.events().find((e) => e.kind === "fired")?.detail).toBe("shared:incoming changed");
    } finally {
      await scheduler.stop();
    }
  });

  it("is a step input on a docker target too: the container reads the blob content, read-only", async () => {
    const store = await blobStore();
    await store.uploadDirectory(await sb.write("d/in/a.txt", "from the blob\n").then(() => join(sb.dir, "d", "in")), { targetPath: "in" });
    await ComputeTarget.attach(sb.ws, "box", { kind: "docker", host: dockerHost(), network: "none" });
    const view = await submit([new CommandStep({
      name: "boxed", computeTarget: "box", runconfig: new RunConfiguration({ environment: Environment.docker({ image: await testImage("busybox") }) }),
      command: 'cat "$PIPEBOOK_INPUT_RAW/a.txt" > "$PIPEBOOK_OUTPUT_OUT/seen"; if touch "$PIPEBOOK_INPUT_RAW/new" 2>/dev/null; then echo writable; else echo read-only; fi >> "$PIPEBOOK_OUTPUT_OUT/seen"',
      inputs: [new DataReference({ datastore: store, dataReferenceName: "raw", pathOnDatastore: "in" })], outputs: [new PipelineData("out")],
    })]);
    expect([step(view, "boxed").status, step(view, "boxed").error ?? ""]).toEqual(["completed", ""]);
    expect(await readFile(join(sb.ws.runs.getOutputs(`${view.runId}.boxed`)[0]!.path, "seen"), "utf8")).toBe("from the blob\nread-only\n");
  });

  it("refuses bad inputs with one sentence each and registers nothing", async () => {
    const bad = { name: "bad", accountName: "devstoreaccount1", containerName: "never-made", connectionStringEnv: CS_ENV };
    // Wrong credentials: the right account with another key.
    process.env["PIPEBOOK_TEST_WRONG_KEY"] = process.env[CS_ENV]!.replace(/AccountKey=[^;]+/, `AccountKey=${randomBytes(64).toString("base64")}`);
    await expect(Datastore.registerAzureBlobContainer(sb.ws, { ...bad, connectionStringEnv: "PIPEBOOK_TEST_WRONG_KEY" })).rejects.toThrow(
      /^datastore bad \(account devstoreaccount1, container never-made\) refused the credentials: could not reach \(AuthorizationFailure|AuthenticationFailed|403\)/,
    );
    // An account nobody answers for.
    process.env["PIPEBOOK_TEST_NOWHERE"] = process.env[CS_ENV]!.replace(/BlobEndpoint=http:\/\/127.0.0.1:\d+/, "BlobEndpoint=http://127.0.0.1:9");
    await expect(Datastore.registerAzureBlobContainer(sb.ws, { ...bad, connectionStringEnv: "PIPEBOOK_TEST_NOWHERE" })).rejects.toThrow(
      /^datastore bad \(account devstoreaccount1, container never-made\) cannot be reached: could not reach/,
    );
    await expect(Datastore.registerAzureBlobContainer(sb.ws, { ...bad, connectionStringEnv: "PIPEBOOK_TEST_UNSET" })).rejects.toThrow(
      "datastore bad reads its connection string from the environment variable PIPEBOOK_TEST_UNSET, which is not set",
    );
    // Settings the connection string decides are refused, not ignored: another account, an endpoint beside it.
    await expect(Datastore.registerAzureBlobContainer(sb.ws, { ...bad, accountName: "otheraccount" })).rejects.toThrow(
      `datastore bad: the connection string in ${CS_ENV} is for account devstoreaccount1, not accountName otheraccount`,
    );
    await expect(Datastore.registerAzureBlobContainer(sb.ws, { ...bad, endpoint: "http://127.0.0.1:9/devstoreaccount1" })).rejects.toThrow(
      "datastore bad: endpoint is taken from the connection string; give endpoint only with accountKeyEnv or sasTokenEnv",
    );
    await expect(Datastore.registerAzureBlobContainer(sb.ws, bad)).rejects.toThrow('datastore bad: account devstoreaccount1 has no container "never-made" (pass createIfNotExists: true to make it)');
    await expect(Datastore.registerAzureBlobContainer(sb.ws, { ...bad, accountKey: "secret" } as never)).rejects.toThrow(
      "datastore bad: pass accountKeyEnv, the name of an environment variable holding the accountKey, not the secret itself (pipebook never stores a secret)",
    );
    expect([...sb.ws.datastores.keys()]).toEqual(["workspaceblobstore"]);
    expect(() => Datastore.get(sb.ws, "nope")).toThrow('this workspace has no datastore named "nope" (it has workspaceblobstore)');

    const store = await blobStore();
    await expect(store.uploadFiles([join(sb.dir, "missing.csv")])).rejects.toThrow(/cannot upload .*missing.csv: no such file/);
    expect(await store.list("")).toEqual([]);
    const ref = new DataReference({ datastore: store, dataReferenceName: "raw", pathOnDatastore: "not/there.csv" });
    // A blob datastore's reference has no path on this machine: an expected failure (it was a plain Error), not a crash.
    const noPath = (() => { try { return ref.path; } catch (err) { return err; } })();
    expect(noPath).toMatchObject({
      name: "DatastoreError", code: "datastore-error", failure: { reason: "no-local-path", store: "shared", reference: "raw" },
      message: 'DataReference "raw" is on blob datastore shared, which has no path on this machine; give it to a step as an input (the step reads a copy) or download it',
    });
    await expect(submit([new CommandStep({ name: "r", command: "true", arguments: [ref] })])).rejects.toThrow(
      'step "r": DataReference "raw" points at "not/there.csv" on datastore shared, which does not exist',
    );
    // A datastore whose credentials stopped working fails the submit naming the step and the input.
    const stale = new AzureBlobDatastore("stale", { kind: "azure-blob", accountName: "devstoreaccount1", containerName: store.containerName, connectionStringEnv: "PIPEBOOK_TEST_WRONG_KEY" }, { cacheDir: join(sb.dir, "c"), statCache: sb.ws.statCache });
    const staleRef = new DataReference({ datastore: stale, dataReferenceName: "raw", pathOnDatastore: "x.csv" });
    await expect(submit([new CommandStep({ name: "r", command: "true", inputs: [staleRef] })])).rejects.toThrow(
      /^step "r": DataReference "raw": datastore stale \(account devstoreaccount1, container \S+\) refused the credentials/,
    );
  });
});

describe("step outputs as datasets", () => {
  it("uploads an OutputFileDatasetConfig to its destination, registers it with its lineage, and gc keeps what a dataset version references", async () => {
    const store = await blobStore();
    const table = new OutputFileDatasetConfig({ name: "table", destination: [store, "out/{run-id}/{output-name}"] })
      .readDelimitedFiles()
      .registerOnComplete("made", { description: "from make" });
    const make = new CommandStep({ name: "make", command: 'printf "a,b\\n1,2\\n3,4\\n" > "$PIPEBOOK_OUTPUT_TABLE/t.csv"', outputs: [table] });
    const use = new CommandStep({ name: "use", command: 'wc -l < "$PIPEBOOK_INPUT_TABLE/t.csv" > "$PIPEBOOK_OUTPUT_N/n"', inputs: [table], outputs: [new PipelineData("n")] });
    const view = await submit([make, use]);
    expect(view.steps.map((s) => [s.name, s.status, s.error ?? ""])).toEqual([["make", "completed", ""], ["use", "completed", ""]]);
    expect(await store.exists(`out/${view.runId}/table/t.csv`)).toBe(true);
    const ds = Dataset.getByName(sb.ws, "made");
    expect(await (ds as TabularDataset).toRecords()).toEqual([{ a: "1", b: "2" }, { a: "3", b: "4" }]);
    const [version] = Dataset.list(sb.ws, { name: "made" });
    expect(version!.lineage).toEqual({
      runId: view.runId, experiment: "data", stepName: "make", stepRunId: `${view.runId}.make`, output: "table", destination: { datastore: "shared", path: `out/${view.runId}/table` },
    });
    const cli = await pipebook(sb.dir, "datasets", "made");
    expect(cli.stdout).toContain(`run ${view.runId} step make output table (shared:out/${view.runId}/table)`);
    // Reused as a whole (nothing uploaded or registered again); a new destination is a new key.
    expect((await submit([make, use])).steps.map((s) => s.status)).toEqual(["reused", "reused"]);
    const moved = new OutputFileDatasetConfig({ name: "table", destination: [store, "elsewhere/{run-id}"] }).readDelimitedFiles().registerOnComplete("made");
    const third = await submit([new CommandStep({ name: "make", command: 'printf "a,b\\n1,2\\n3,4\\n" > "$PIPEBOOK_OUTPUT_TABLE/t.csv"', outputs: [moved] })]);
    expect([step(third, "make").status, step(third, "make").error ?? ""]).toEqual(["completed", ""]);
    expect(step(third, "make").why).toContain("outputs changed");
    expect(await store.exists(`elsewhere/${third.runId}/t.csv`)).toBe(true);
    // Its files now sit in another folder (a dataset's content includes the folder's name): version 2, made by the third run.
    expect(Dataset.list(sb.ws, { name: "made" }).map((v) => [v.version, v.lineage?.runId])).toEqual([[2, third.runId], [1, view.runId]]);
    // A published pipeline keeps the output's destination and registration: its run registers with its own lineage.
    const published = await (await PipelineRun.get(sb.ws, third.runId)).publishPipeline({ name: "maker", version: "1" });
    const rerun = await (await PipelineRun.submitSpec(sb.ws, "data", (await PublishedPipeline.get(sb.ws, published.id)).spec, { regenerateOutputs: true })).waitForCompletion();
    expect(step(rerun, "make").status).toBe("completed");
    expect(await store.exists(`elsewhere/${rerun.runId}/t.csv`)).toBe(true);
    expect(Dataset.list(sb.ws, { name: "made" }).map((v) => [v.version, v.lineage?.runId])).toEqual([[3, rerun.runId], [2, third.runId], [1, view.runId]]);

    // gc: with every run "old", a plain intermediate output goes; the one a dataset version was registered from stays.
    const makeOut = sb.ws.runs.getOutputs(`${view.runId}.make`)[0]!.path;
    const useOut = sb.ws.runs.getOutputs(`${view.runId}.use`)[0]!.path;
    const gc = await pipebook(sb.dir, "gc", "--older-than", "0");
    expect(gc.code).toBe(0);
    expect(await exists(makeOut)).toBe(true);
    expect(await exists(useOut)).toBe(false);
    expect(gc.stdout).toContain(useOut);
    expect(gc.stdout).not.toContain(makeOut);
    // The outputs of a run a published pipeline was made from are kept too.
    const plain = await submit([new CommandStep({ name: "plain", command: 'echo x > "$PIPEBOOK_OUTPUT_P/x"', outputs: [new PipelineData("p")] })]);
    await (await PipelineRun.get(sb.ws, plain.runId)).publishPipeline({ name: "plain", version: "1" });
    const plainOut = sb.ws.runs.getOutputs(`${plain.runId}.plain`)[0]!.path;
    expect((await pipebook(sb.dir, "gc", "--older-than", "0")).code).toBe(0);
    expect(await exists(plainOut)).toBe(true);
    expect(await exists(makeOut)).toBe(true);
  });

  it("fails the step with one sentence on a malformed CSV and leaves no dataset and no upload behind", async () => {
    const store = await blobStore();
    const table = new OutputFileDatasetConfig({ name: "table", destination: [store, "out/{run-id}"] }).readDelimitedFiles().registerOnComplete("broken");
    const bad = new CommandStep({ name: "bad", command: 'printf "a,b\\n\\"1,2\\n" > "$PIPEBOOK_OUTPUT_TABLE/t.csv"', outputs: [table] });
    const view = await submit([bad]);
    expect(step(view, "bad").status).toBe("failed");
    expect(step(view, "bad").error).toMatch(/^step "bad": output "table": .*t\.csv.*/);
    expect(step(view, "bad").error!.split("\n")).toHaveLength(1);
    expect(Dataset.list(sb.ws, { name: "broken" })).toEqual([]);
    expect(await store.list("out")).toEqual([]);
  });
});

function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

describe("DataTransferStep", () => {
  it("copies local → blob → blob → local, is reused while source and destination are unchanged, and reruns when the destination lost its copy", async () => {
    const a = await blobStore("a");
    const b = await blobStore("b");
    const local = sb.ws.getDefaultDatastore() as Datastore;
    await sb.write("in/x.csv", "x\n1\n");
    await sb.write("in/sub/y.txt", "y");
    const copied: string[] = [];
    await local.uploadDirectory(join(sb.dir, "in"), { targetPath: "src", onProgress: (p) => copied.push(`${p.path} ${p.loadedBytes}/${p.totalBytes}`) });
    expect(copied).toEqual(["src/sub/y.txt 1/1", "src/x.csv 4/4"]);
    const ref = (store: Datastore | AzureBlobDatastore, name: string, path: string) => new DataReference({ datastore: store, dataReferenceName: name, pathOnDatastore: path });
    const steps = () => [
      new DataTransferStep({ name: "up", sourceDataReference: ref(local, "src", "src"), destinationDataReference: ref(a, "up_to", "copy/src") }),
      new DataTransferStep({ name: "across", sourceDataReference: ref(local, "one", "src/x.csv"), destinationDataReference: ref(b, "across_to", "x/renamed.csv") }),
    ];
    const first = await submit(steps());
    expect(first.steps.map((s) => [s.name, s.status, s.error ?? ""])).toEqual([["up", "completed", ""], ["across", "completed", ""]]);
    expect((await a.list("copy/src")).map((e) => e.rel)).toEqual(["sub/y.txt", "x.csv"]);
    expect((await b.list("x/renamed.csv")).map((e) => e.blobName)).toEqual(["x/renamed.csv"]);
    // Blob to blob, and back down to a local folder.
    const downSteps = () => [
      new DataTransferStep({ name: "b2b", sourceDataReference: ref(a, "from_a", "copy/src"), destinationDataReference: ref(b, "to_b", "mirror") }),
      new DataTransferStep({ name: "b2l", sourceDataReference: ref(a, "from_a2", "copy/src/x.csv"), destinationDataReference: ref(local, "to_local", "back/x.csv") }),
    ];
    const down = await submit(downSteps());
    expect(down.steps.map((s) => [s.name, s.status, s.error ?? ""])).toEqual([["b2b", "completed", ""], ["b2l", "completed", ""]]);
    // Blob to blob on one account is copied by the service: the only local copy of blob content is b2l's.
    expect(readdirSync(join(sb.ws.dir, "remote")).filter((n) => !n.endsWith(".tmp"))).toHaveLength(1);
    // The copies keep their Content-MD5: the destinations hold what the sources have, so both are reused.
    expect((await submit(downSteps())).steps.map((s) => s.status)).toEqual(["reused", "reused"]);
    expect((await b.list("mirror")).map((e) => e.rel)).toEqual(["sub/y.txt", "x.csv"]);
    expect(await readFile(local.resolve("back/x.csv"), "utf8")).toBe("x\n1\n");
    // Copied from a sealed (read-only) local copy of blob content, the destination's file is writable like any other.
    expect((await stat(local.resolve("back/x.csv"))).mode & 0o200).toBe(0o200);

    const again = await submit(steps());
    expect(again.steps.map((s) => s.status)).toEqual(["reused", "reused"]);
    await a.removeBlobs(["copy/src/x.csv"]);
    const repaired = await submit(steps());
    expect(step(repaired, "up").status).toBe("completed");
    expect(step(repaired, "up").why).toContain('destination "copy/src" on datastore a no longer holds the transferred content');
    expect(step(repaired, "across").status).toBe("reused");
    expect((await a.list("copy/src")).map((e) => e.rel)).toEqual(["sub/y.txt", "x.csv"]);
    // A changed source reruns the transfer.
    await writeFile(local.resolve("src/x.csv"), "x\n2\n");
    const changed = await submit(steps());
    expect(changed.steps.map((s) => s.status)).toEqual(["completed", "completed"]);
    expect(await readFile(await b.download(await mkdtemp(join(sb.dir, "dl-")), { prefix: "x/renamed.csv" }), "utf8")).toBe("x\n2\n");
  });
});

describe("pipebook.json datastores", () => {
  it("names a blob and a local datastore and the default; a dataset on the blob one feeds a step; a secret in the file is refused", async () => {
    const made = await blobStore("maker");
    await sb.write("t/iris.csv", "sepal,species\n5.1,setosa\n6.2,virginica\n");
    await made.uploadFiles([join(sb.dir, "t/iris.csv")], { targetPath: "tables" });
    const root = await mkdtemp(join(tmpdir(), "pipebook-cfg-"));
    try {
      const config = {
        datastores: {
          lake: { kind: "azure-blob", accountName: "devstoreaccount1", containerName: made.containerName, connectionStringEnv: CS_ENV },
          raw: { kind: "local", path: "raw" },
        },
        defaultDatastore: "lake",
      };
      await writeFile(join(root, "pipebook.json"), JSON.stringify(config));
      const ws = await Workspace.fromConfig({ path: root });
      try {
        expect([...ws.datastores.keys()].sort()).toEqual(["lake", "raw", "workspaceblobstore"]);
        expect(ws.getDefaultDatastore().name).toBe("lake");
        expect((Datastore.get(ws, "raw") as Datastore).root).toBe(join(root, "raw"));
        await expect(Datastore.registerLocalFolder(ws, { name: "lake", path: "x" })).rejects.toThrow("datastore lake is defined by pipebook.json; register another name");
        const iris = Dataset.Tabular.fromDelimitedFiles([[ws.getDefaultDatastore(), "tables/iris.csv"]]).filter("species", "==", "setosa");
        expect(await iris.toRecords({ workspace: ws })).toEqual([{ sepal: "5.1", species: "setosa" }]);
        const run = await new Experiment(ws, "cfg").submit(new Pipeline(ws, {
          steps: [new CommandStep({ name: "count", command: 'wc -l < "$PIPEBOOK_INPUT_IRIS" > "$PIPEBOOK_OUTPUT_N/n"', inputs: [iris.asNamedInput("iris")], outputs: [new PipelineData("n")] })],
        }));
        const view = await run.waitForCompletion();
        expect(view.steps.map((s) => [s.status, s.error ?? ""])).toEqual([["completed", ""]]);
        expect((await readFile(join(ws.runs.getOutputs(`${view.runId}.count`)[0]!.path, "n"), "utf8")).trim()).toBe("2");
      } finally {
        await ws.close();
      }
      await writeFile(join(root, "pipebook.json"), JSON.stringify({ datastores: { lake: { ...config.datastores.lake, accountKey: "c2VjcmV0" } } }));
      await expect(Workspace.fromConfig({ path: root })).rejects.toThrow(/datastores\.lake: Unrecognized key: "accountKey"/);
      await writeFile(join(root, "pipebook.json"), JSON.stringify({ datastores: { lake: { ...config.datastores.lake, connectionStringEnv: "DefaultEndpointsProtocol=http;AccountKey=abc" } } }));
      await expect(Workspace.fromConfig({ path: root })).rejects.toThrow(/datastores\.lake\.connectionStringEnv: must be the name of an environment variable holding the secret, never the secret itself/);
      await writeFile(join(root, "pipebook.json"), JSON.stringify({ datastores: { raw: { kind: "local", path: "raw" } }, defaultDatastore: "lake" }));
      await expect(Workspace.fromConfig({ path: root })).rejects.toThrow('pipebook.json names defaultDatastore "lake", which is not among its datastores (workspaceblobstore, raw)');
      await writeFile(join(root, "pipebook.json"), JSON.stringify({ datastores: { workspaceblobstore: { kind: "local", path: "mine" } } }));
      await expect(Workspace.fromConfig({ path: root })).rejects.toThrow("pipebook.json cannot redefine datastore workspaceblobstore, the workspace's own");
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
