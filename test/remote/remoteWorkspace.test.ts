import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type AddressInfo } from "node:net";
import { ApiTokens, ComputeTarget, type RunEvent, type RunView } from "pipebook";
import { openRunHistory } from "../../engine/dist/workspace/openRunHistory.js";
import { startServer, type RunningServer } from "pipebook/server";
import { CLI, REPO, sandbox, type Sandbox } from "../engine/helpers.js";
import { replyDroppingProxy, replyHoldingProxy } from "./proxy.js";

/**
 * A project whose pipebook.json names a real `pipebook serve` (started in this process, on
 * loopback), driven through the real CLI: the run must be recorded and executed by the server,
 * its code uploaded by content, and every command answered over REST.
 */

const HELLO = `import { writeFileSync } from "node:fs";
console.log("hello from", process.argv.slice(2).join(" "));
writeFileSync(process.env.PIPEBOOK_OUTPUT_GREETING + "/g.txt", "hi\\n");
`;
const PIPELINE = `import { CommandStep, NodeScriptStep, Pipeline, PipelineData, Workspace } from "pipebook";
const ws = await Workspace.fromConfig();
const greeting = new PipelineData("greeting");
const hello = new NodeScriptStep({ name: "hello", scriptName: "hello.mjs", sourceDirectory: "src", outputs: [greeting], arguments: ["world"] });
const show = new CommandStep({ name: "show", inputs: [greeting], command: 'cat "$PIPEBOOK_INPUT_GREETING/g.txt"' });
export default new Pipeline(ws, { steps: [hello, show] });
`;
const SLOW = `import { CommandStep, Pipeline, Workspace } from "pipebook";
export default new Pipeline(await Workspace.fromConfig(), { steps: [new CommandStep({ name: "nap", command: "echo napping; sleep 60" })] });
`;
const SPAM = `import { CommandStep, Pipeline, Workspace } from "pipebook";
export default new Pipeline(await Workspace.fromConfig(), { steps: [new CommandStep({ name: "spam", command: "seq 1 3000 | sed 's/^/line /'" })] });
`;

interface Result { code: number; stdout: string; stderr: string }

function cli(cwd: string, env: Record<string, string>, ...args: string[]): Promise<Result> {
  return node(cwd, env, CLI, ...args);
}

function node(cwd: string, env: Record<string, string>, ...args: string[]): Promise<Result> {
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, PIPEBOOK_SERVER: "", PIPEBOOK_TOKEN: "", ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise<Result>((resolve) => child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

const runIdOf = (stdout: string): string => /submitted run (\S+)/.exec(stdout)![1]!;

async function project(root: string, name: string, config: Record<string, unknown>): Promise<string> {
  const dir = join(root, name);
  await mkdir(join(dir, "src"), { recursive: true });
  await mkdir(join(dir, "node_modules"));
  await symlink(join(REPO, "engine"), join(dir, "node_modules", "pipebook"), "dir");
  await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
  await writeFile(join(dir, "pipebook.json"), JSON.stringify(config));
  await writeFile(join(dir, "src", "hello.mjs"), HELLO);
  await writeFile(join(dir, "pipeline.ts"), PIPELINE);
  await writeFile(join(dir, "slow.ts"), SLOW);
  await writeFile(join(dir, "spam.ts"), SPAM);
  return dir;
}

describe("a project that submits to a pipebook server (pipebook.json \"server\")", () => {
  let sb: Sandbox;
  let server: RunningServer;
  let root: string;
  let alice: string;
  let bob: string;
  let token: string;
  let env: Record<string, string>;
  /** The first test's run on the server, and Bob's run that reused it. */
  let firstRun = "";
  let reusedRun = "";

  beforeAll(async () => {
    sb = await sandbox();
    token = new ApiTokens(sb.ws).create("team", ["read", "runs:submit"]).token;
    // A target only the server has: the projects below name it without declaring it.
    await ComputeTarget.attach(sb.ws, "box", { kind: "local" });
    server = await startServer({ workspace: sb.ws, port: 0, log: () => undefined, schedules: false });
    root = await mkdtemp(join(tmpdir(), "pipebook-remote-"));
    alice = await project(root, "alice", { server: server.url });
    // Bob names the token by file, as a shared project would.
    await writeFile(join(root, "bob-token"), `${token}\n`);
    bob = await project(root, "bob", { server: server.url, tokenFile: "../bob-token" });
    env = { PIPEBOOK_TOKEN: token };
  });
  afterAll(async () => {
    await server?.close();
    await sb?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("runs an unpublished pipeline on the server, streams it, answers why; a second submit and another project reuse it and upload 0 bytes", async () => {
    const first = await cli(alice, env, "run", "pipeline.ts");
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`to ${server.url}: uploaded 2 of 2 code blobs`);
    // Live progress from the server's feed, the step's log line included.
    expect(first.stdout).toMatch(/\[\d\/2\] ✓ hello completed/);
    expect(first.stdout).toContain("[hello] hello from world");
    expect(first.stdout).toMatch(/completed in .*: 2 ran, 0 reused/);
    const id = runIdOf(first.stdout);
    // Recorded in the server's store, not the project's.
    expect(sb.ws.runs.getRun(id)?.status).toBe("completed");
    expect(sb.ws.runs.getRun(id)?.source).toBe("cli");
    const local = await openRunHistory(alice);
    expect(local.runs.getRun(id)).toBeUndefined();
    local.close();

    const why = await cli(alice, env, "why", id, "hello");
    expect(why.code).toBe(0);
    expect(why.stdout).toContain(`hello in run ${id}: completed`);
    expect(why.stdout).toMatch(/key [0-9a-f]{64}/);

    const again = await cli(alice, env, "run", "pipeline.ts", "-q");
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("uploaded 0 of 2 code blobs (0 B)");
    expect(again.stdout).toMatch(/: 0 ran, 2 reused/);
    const whyAgain = await cli(alice, env, "why", runIdOf(again.stdout), "hello");
    expect(whyAgain.stdout).toContain(`reused: its key matches step run ${id}.hello of run ${id}`);

    // Another project with the same code: the server's store decides, so it reuses Alice's run.
    const other = await cli(bob, {}, "run", "pipeline.ts", "-q");
    expect(other.stderr).toBe("");
    expect(other.code).toBe(0);
    expect(other.stdout).toContain("uploaded 0 of 2 code blobs (0 B)");
    expect(other.stdout).toMatch(/: 0 ran, 2 reused/);

    const runs = await cli(bob, {}, "runs");
    expect(runs.stdout).toContain(id);
    const show = await cli(alice, env, "show", id.slice(0, 20));
    expect(show.stdout).toContain(`run        ${id}  (on ${server.url})`);
    expect(show.stdout).toMatch(/hello\s+completed/);
    const logs = await cli(alice, env, "logs", id, "hello");
    expect(logs.stdout).toBe("hello from world\n");
    firstRun = id;
    reusedRun = runIdOf(other.stdout);
  });

  it("pipebook download brings a server run's outputs here by content: only files not already here move", async () => {
    const id = firstRun;
    // Its outputs come to the laptop by content: only files not already here move.
    const dl = await cli(alice, env, "download", id.slice(0, 20), "--out", "got");
    expect(dl.stderr).toBe("");
    expect(dl.stdout).toBe(`hello/greeting: 1 file\ndownloaded 1 of 1 files (3 B) to ${join(alice, "got")}\n`);
    expect(await readFile(join(alice, "got", "hello", "greeting", "g.txt"), "utf8")).toBe("hi\n");
    const again2 = await cli(alice, env, "download", id, "hello", "--output", "greeting", "--out", "got");
    expect(again2.stdout).toContain("downloaded 0 of 1 files (0 B)");
    expect(again2.stdout).toContain("1 already there");
    // A file changed here is fetched again (checked by digest, not by name or size).
    await writeFile(join(alice, "got", "hello", "greeting", "g.txt"), "HI\n");
    expect((await cli(alice, env, "download", id, "--out", "got")).stdout).toContain("downloaded 1 of 1 files (3 B)");
    expect(await readFile(join(alice, "got", "hello", "greeting", "g.txt"), "utf8")).toBe("hi\n");
    // A reused run's outputs are the ones it reused; a wrong step or output is one sentence.
    const fromReuse = await cli(bob, {}, "download", reusedRun, "hello", "--out", "mine");
    expect(fromReuse.stdout).toContain("downloaded 1 of 1 files (3 B)");
    expect(await readFile(join(bob, "mine", "hello", "greeting", "g.txt"), "utf8")).toBe("hi\n");
    const noStep = await cli(alice, env, "download", id, "nope");
    expect(noStep.stderr).toBe(`pipebook: run ${id} has no step "nope" (steps: hello, show)\n`);
    const noOutput = await cli(alice, env, "download", id, "hello", "--output", "model");
    expect(noOutput.stderr).toBe('pipebook: step "hello" has no output "model" (outputs: greeting)\n');
    expect(noOutput.code).toBe(2);
  });

  it("pipebook download copies a local workspace's run outputs the same way", async () => {
    const dave = await project(root, "dave", {});
    const r = await cli(dave, {}, "run", "pipeline.ts", "-q");
    expect(r.code, r.stderr).toBe(0);
    const id = runIdOf(r.stdout);
    const dl = await cli(dave, {}, "download", id);
    expect(dl.stderr).toBe("");
    expect(dl.stdout).toBe(`hello/greeting: 1 file\ndownloaded 1 of 1 files (3 B) to ${join(dave, id)}\n`);
    expect(await readFile(join(dave, id, "hello", "greeting", "g.txt"), "utf8")).toBe("hi\n");
    expect((await cli(dave, {}, "download", id)).stdout).toContain("downloaded 0 of 1 files (0 B)");
    const none = await cli(dave, {}, "download", id, "show");
    expect(none.stderr).toBe(`pipebook: step "show" of run ${id} has no outputs to download (it is completed and declares none)\n`);
  });

  it("a plain script submits with Workspace.fromConfig({server}) and waits for the server's run", async () => {
    // A folder without pipebook.json: the server comes from the script, the token from the environment.
    const carol = join(root, "carol");
    await mkdir(join(carol, "node_modules"), { recursive: true });
    await symlink(join(REPO, "engine"), join(carol, "node_modules", "pipebook"), "dir");
    await writeFile(join(carol, "package.json"), JSON.stringify({ type: "module", private: true }));
    await writeFile(join(carol, "script.mjs"), `import { CommandStep, Experiment, Pipeline, PipelineData, Workspace } from "pipebook";
const ws = await Workspace.fromConfig({ server: process.argv[2] });
const out = new PipelineData("out");
const pipeline = new Pipeline(ws, { steps: [new CommandStep({ name: "echo", outputs: [out], command: 'echo from a script; mkdir -p "$PIPEBOOK_OUTPUT_OUT/sub"; echo deep > "$PIPEBOOK_OUTPUT_OUT/sub/d.txt"; head -c 9000000 /dev/zero > "$PIPEBOOK_OUTPUT_OUT/big.bin"' })] });
const run = await new Experiment(ws, "script").submit(pipeline);
const view = await run.waitForCompletion();
let progress = 0;
const got = await run.downloadOutputs("dl", { onProgress: (p) => { if (p.done === p.total) progress++; } });
console.log(JSON.stringify({ id: run.id, status: view.status, steps: view.steps.map((s) => s.status), tail: view.steps[0].logTail, got: { files: got.files, fetched: got.fetched, bytes: got.bytes }, progress }));
`);
    const r = await node(carol, env, "script.mjs", server.url);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { id: string; status: string; steps: string[]; tail: string };
    // run.downloadOutputs on a RemoteRun: both files by content, each reporting its progress to the end.
    expect(out).toMatchObject({ status: "completed", steps: ["completed"], tail: "from a script\n", got: { files: 2, fetched: 2, bytes: 9_000_005 }, progress: 2 });
    expect(await readFile(join(carol, "dl", "echo", "out", "sub", "d.txt"), "utf8")).toBe("deep\n");
    // A download cut off earlier left big.bin's first 4 MB: the CLI fetches only the rest, and
    // shows a file of 8 MiB or more arriving, on stderr.
    const bigDigest = createHash("sha256").update(Buffer.alloc(9_000_000)).digest("hex");
    await mkdir(join(alice, "from-carol", "echo", "out"), { recursive: true });
    await writeFile(join(alice, "from-carol", "echo", "out", `big.bin.${bigDigest.slice(0, 16)}.part`), Buffer.alloc(4_000_000));
    const dl = await cli(alice, env, "download", out.id, "--out", "from-carol");
    expect(dl.stdout).toContain("downloaded 2 of 2 files (4.8 MiB)");
    expect((await readFile(join(alice, "from-carol", "echo", "out", "big.bin"))).equals(Buffer.alloc(9_000_000))).toBe(true);
    expect(dl.stderr.endsWith("\recho/out/big.bin: 100% of 8.6 MiB\n")).toBe(true);
    expect(dl.stderr.split("\r").filter(Boolean).every((l) => /^echo\/out\/big\.bin: \d+% of 8\.6 MiB\n?$/.test(l))).toBe(true);
    expect(sb.ws.runs.getRun(out.id)?.source).toBe("sdk");
  });

  it("a step names the server's compute targets, which the project does not declare; an unknown one is the server's one sentence", async () => {
    const frank = join(root, "frank");
    await mkdir(join(frank, "node_modules"), { recursive: true });
    await symlink(join(REPO, "engine"), join(frank, "node_modules", "pipebook"), "dir");
    await writeFile(join(frank, "package.json"), JSON.stringify({ type: "module", private: true }));
    await writeFile(join(frank, "script.mjs"), `import { CommandStep, Experiment, Pipeline, Workspace } from "pipebook";
const ws = await Workspace.fromConfig({ server: process.argv[2] });
const step = new CommandStep({ name: "where", command: "echo on target " + process.argv[3], computeTarget: process.argv[3] });
try {
  const view = await (await new Experiment(ws, "targets").submit(new Pipeline(ws, { steps: [step] }))).waitForCompletion();
  console.log(JSON.stringify({ status: view.status, tail: view.steps[0].logTail }));
} catch (e) { console.log(JSON.stringify({ error: e.message, name: e.name, code: e.code, reason: e.failure?.serverReason })); }
`);
    const box = await node(frank, env, "script.mjs", server.url, "box");
    expect(JSON.parse(box.stdout.trim()), box.stderr).toEqual({ status: "completed", tail: "on target box\n" });
    const nowhere = await node(frank, env, "script.mjs", server.url, "nowhere");
    // The server's failure data comes along: the remote workspace's error has the code a local one would, and the server's reason.
    expect(JSON.parse(nowhere.stdout.trim()), nowhere.stderr).toEqual({
      error: 'step "where" names compute target "nowhere", which the workspace does not have (known: box, local)', name: "RemoteError", code: "compute-unknown", reason: "compute-unknown",
    });
  });

  it("POST /runs refuses code that is not on the server, a manifest that lists other files, and a path out of the step's folder", async () => {
    const sha = (t: string): string => createHash("sha256").update(t).digest("hex");
    const put = (text: string) => fetch(`${server.url}/blobs/${sha(text)}`, { method: "PUT", headers: { Authorization: `Bearer ${token}` }, body: text });
    const post = async (source: Record<string, string>, manifest: string, experiment = "forged", key?: string, environment: unknown = { kind: "system", envVars: {} }) => {
      const step = { name: "s", kind: "command", command: "true", source, manifest: sha(manifest), hashPaths: {}, arguments: [], inputs: [], outputs: [], parameters: [], computeTarget: "local", environment, gpus: 0, allowReuse: true, excludeFromKey: [] };
      const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...(key !== undefined && { "Idempotency-Key": key }) };
      const r = await fetch(`${server.url}/runs`, { method: "POST", headers, body: JSON.stringify({ experiment, spec: { version: 1, description: "", parameters: [], steps: [step] } }) });
      return { status: r.status, replayed: r.headers.get("Idempotent-Replayed"), body: (await r.json()) as { error: string; Id: string } };
    };
    const submit = async (source: Record<string, string>, manifest: string) => {
      const r = await post(source, manifest);
      return { status: r.status, error: r.body.error };
    };
    const file = "echo hi\n";
    const manifest = JSON.stringify({ "run.sh": sha(file) });
    expect(await submit({ "run.sh": sha(file) }, manifest)).toEqual({ status: 409, error: `2 blobs of the run's code are not on this server (first: ${sha(manifest)}): upload them first (POST /blobs/missing, PUT /blobs/{digest})` });
    expect((await put(file)).status).toBe(201);
    const other = JSON.stringify({ "other.sh": sha(file) });
    expect((await put(other)).status).toBe(201);
    expect(await submit({ "run.sh": sha(file) }, other)).toEqual({ status: 400, error: 'the snapshot manifest of step "s" does not list the files its spec names' });
    expect(await submit({ "../../escape.sh": sha(file) }, manifest)).toEqual({ status: 400, error: 'step "s" names source file "../../escape.sh", which is not a relative path inside its folder' });
    const badEnvironment = await post({ "run.sh": sha(file) }, manifest, "forged", undefined, { kind: "nope", envVars: {} });
    expect(badEnvironment.status).toBe(400);
    expect(badEnvironment.body.error).toBe('invalid body: field "spec.steps.0.environment.kind": Invalid option: expected one of "system"|"python"|"node"|"docker"');
    expect(sb.ws.runs.listRuns({ experiment: "forged", limit: 5 })).toEqual([]);

    // With an Idempotency-Key, the same request again is the same run; another request with that key is refused.
    await put(manifest);
    const first = await post({ "run.sh": sha(file) }, manifest, "keyed", "k-1");
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const retry = await post({ "run.sh": sha(file) }, manifest, "keyed", "k-1");
    expect(retry).toMatchObject({ status: 201, replayed: "true", body: { Id: first.body.Id } });
    expect(await post({ "run.sh": sha(file) }, manifest, "keyed-other", "k-1")).toMatchObject({ status: 422, body: { error: "this Idempotency-Key was already used for a different request" } });
    expect(sb.ws.runs.listRuns({ experiment: "keyed", limit: 5 }).map((r) => r.id)).toEqual([first.body.Id]);
  });

  it("a submit whose POST /runs reply is lost asks again with its Idempotency-Key and gets the one run the server made", async () => {
    const proxy = await replyDroppingProxy(server.url, (method, url) => method === "POST" && url === "/runs");
    try {
      const r = await cli(alice, { ...env, PIPEBOOK_SERVER: proxy.url }, "run", "pipeline.ts", "-e", "dropped-reply", "-q");
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(proxy.dropped).toBe(1);
      const runs = sb.ws.runs.listRuns({ experiment: "dropped-reply", limit: 5 });
      expect(runs.map((x) => x.id)).toEqual([runIdOf(r.stdout)]);
      expect(runs[0]!.status).toBe("completed");
    } finally {
      await proxy.close();
    }
  });

  it("cancels a run on the server: pipebook cancel from another process, and the run's own pipebook run sees it end", async () => {
    const running = cli(alice, env, "run", "slow.ts");
    // Wait for the server to start the step (an event in its store, not a time).
    let runId: string | undefined;
    for (let i = 0; i < 600 && runId === undefined; i++) {
      runId = sb.ws.runs.listRuns({ experiment: "slow", limit: 1 }).find((r) => sb.ws.runs.getSteps(r.id)[0]?.status === "running")?.id;
      if (runId === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(runId).toBeDefined();
    const cancel = await cli(alice, env, "cancel", runId!);
    expect(cancel.stdout).toBe(`run ${runId} canceled\n`);
    expect(cancel.code).toBe(0);
    const ended = await running;
    expect(ended.code).toBe(1);
    expect(ended.stdout).toContain(`run ${runId} canceled`);
    const again = await cli(alice, env, "cancel", runId!);
    expect(again.stderr).toBe(`pipebook: run ${runId} already ended canceled; there is nothing to cancel\n`);
  });

  it("pipebook run against a server prints every line a fast-printing step wrote, as a local run does; a reconnect goes on from Last-Event-ID", async () => {
    const r = await cli(alice, env, "run", "spam.ts");
    expect(r.code, r.stderr).toBe(0);
    const printed = r.stdout.split("\n").filter((l) => l.startsWith("  [spam] "));
    expect(printed).toEqual(Array.from({ length: 3000 }, (_, i) => `  [spam] line ${i + 1}`));
    // The feed's log frames on their own: all of the log, and from a position only the rest.
    const id = runIdOf(r.stdout);
    const frames = async (lastEventId?: string): Promise<string> => {
      const res = await fetch(`${server.url}/runs/${id}/events?logs=1`, { headers: { Authorization: `Bearer ${token}`, ...(lastEventId && { "Last-Event-ID": lastEventId }) } });
      const events = (await res.text()).split("\n\n").filter((e) => e.startsWith("event: log"));
      return events.map((e) => (JSON.parse(e.split("\n").find((l) => l.startsWith("data: "))!.slice(6)) as { text: string }).text).join("");
    };
    const whole = Array.from({ length: 3000 }, (_, i) => `line ${i + 1}\n`).join("");
    expect(await frames()).toBe(whole);
    expect(await frames(JSON.stringify({ spam: 7 }))).toBe(whole.slice(7));
    // A run handed over when it had already ended (its submit's reply came after its end, as a
    // step of a few ms on a busy server gives) is still told from its start: its step's end,
    // its own end and every log line, as the run above printed them.
    const { RemoteRun } = await import("../../engine/dist/remote/RemoteRun.js");
    const { RemoteServer } = await import("../../engine/dist/remote/RemoteServer.js");
    const ended = (await (await fetch(`${server.url}/runs/${id}`, { headers: { Authorization: `Bearer ${token}` } })).json()) as RunView;
    expect(ended.status).toBe("completed");
    const handed = new RemoteRun(new RemoteServer(server.url, token, "PIPEBOOK_TOKEN"), ended);
    const events: RunEvent[] = [];
    handed.onEvent((e) => events.push(e));
    expect((await handed.waitForCompletion()).status).toBe("completed");
    expect(events.flatMap((e) => (e.type === "step-log" ? [e.text] : [])).join("")).toBe(whole);
    expect(events.filter((e) => e.type !== "step-log")).toMatchObject([{ type: "step-status", step: "spam", status: "completed" }, { type: "run-status", status: "completed" }]);
  });

  it("Ctrl-C on pipebook run against a server cancels the run there", async () => {
    const child = spawn(process.execPath, [CLI, "run", "slow.ts", "-e", "interrupted"], { cwd: alice, env: { ...process.env, PIPEBOOK_SERVER: "", ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    // Interrupted once the server runs the step and the CLI follows it (events, not a time: the
    // CLI says "submitted run" in the same turn as it starts listening for the signal).
    let runId: string | undefined;
    for (let i = 0; i < 600 && runId === undefined; i++) {
      if (stdout.includes("submitted run")) runId = sb.ws.runs.listRuns({ experiment: "interrupted", limit: 1 }).find((x) => sb.ws.runs.getSteps(x.id)[0]?.status === "running")?.id;
      if (runId === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(runId).toBeDefined();
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(stderr).toContain(`SIGINT: canceling run ${runId} on ${server.url}`);
    expect(stdout).toContain(`run ${runId} canceled`);
    expect(sb.ws.runs.getRun(runId!)?.status).toBe("canceled");
    expect(sb.ws.runs.getSteps(runId!)[0]?.status).toBe("canceled");
  });

  it("a Ctrl-C while pipebook run is still submitting cancels the run on the server once it has an id", async () => {
    // The server's reply to POST /runs is held: the run exists there, the CLI does not know its id yet.
    const proxy = await replyHoldingProxy(server.url, (method, url) => method === "POST" && url === "/runs");
    try {
      const child = spawn(process.execPath, [CLI, "run", "slow.ts", "-e", "interrupted-early"], { cwd: alice, env: { ...process.env, ...env, PIPEBOOK_SERVER: proxy.url } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
      await proxy.holding;
      child.kill("SIGINT");
      // Released once the CLI said it heard the signal (an event, not a time).
      for (let i = 0; i < 600 && !stderr.includes("SIGINT"); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(stderr).toContain("SIGINT: the run is canceled on the server as soon as it is submitted");
      proxy.release();
      expect(await exited).toBe(130);
      const runs = sb.ws.runs.listRuns({ experiment: "interrupted-early", limit: 5 });
      expect(runs.map((x) => x.status)).toEqual(["canceled"]);
      expect(stdout).toContain(`run ${runs[0]!.id} canceled`);
    } finally {
      await proxy.close();
    }
  });

  it("says in one sentence: a bad token, a server that is down, no token, and what only a local workspace can do", async () => {
    const bad = await cli(alice, { PIPEBOOK_TOKEN: "pbk_wrong" }, "run", "pipeline.ts");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`pipebook: the pipebook server at ${server.url} refused the token (from PIPEBOOK_TOKEN): set PIPEBOOK_TOKEN or pipebook.json "tokenFile" to a token it knows (pipebook token create on the server)\n`);

    // A port nothing listens on: taken, then let go.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const gone = `http://127.0.0.1:${port}`;
    const sentence = `pipebook: cannot reach the pipebook server at ${gone} (connect ECONNREFUSED 127.0.0.1:${port}): is \`pipebook serve\` running there?\n`;
    const down = await cli(alice, { ...env, PIPEBOOK_SERVER: gone }, "runs");
    expect(down.code).toBe(2);
    expect(down.stderr).toBe(sentence);
    const downRun = await cli(alice, { ...env, PIPEBOOK_SERVER: gone }, "run", "pipeline.ts");
    expect(downRun.stderr).toBe(sentence);

    const none = await cli(alice, {}, "runs");
    expect(none.stderr).toBe(`pipebook: submitting to the pipebook server at ${server.url} needs a token: set PIPEBOOK_TOKEN, or name a file holding it in pipebook.json "tokenFile"\n`);

    // A ModuleStep: refused before anything is uploaded, saying why.
    const erin = join(root, "erin");
    await mkdir(join(erin, "node_modules"), { recursive: true });
    await symlink(join(REPO, "engine"), join(erin, "node_modules", "pipebook"), "dir");
    await writeFile(join(erin, "package.json"), JSON.stringify({ type: "module", private: true }));
    await writeFile(join(erin, "m.mjs"), `import { Experiment, Module, ModuleStep, Pipeline, Workspace } from "pipebook";
const ws = await Workspace.fromConfig({ server: process.argv[2] });
const version = await (await Module.create(ws, { name: "greet" })).publishShellScript({ version: "1", command: "echo hi" });
await new Experiment(ws, "mod").submit(new Pipeline(ws, { steps: [new ModuleStep({ module: version })] })).catch((e) => console.log(e.message));
`);
    const mod = await node(erin, env, "m.mjs", server.url);
    expect(mod.stdout).toBe(`step "greet" is a ModuleStep (module "greet" version "1"), which a run submitted to ${server.url} cannot use yet: modules live in the server's store, but a ModuleStep is resolved in this workspace's own and a remote workspace does not look modules up on the server; run this pipeline on the server's workspace, where the module is published\n`);
    expect(sb.ws.runs.listRuns({ experiment: "mod", limit: 1 })).toEqual([]);

    for (const [args, what] of [[["gc"], "pipebook gc"], [["datasets"], "pipebook datasets"], [["token", "list"], "pipebook token"]] as const) {
      const r = await cli(alice, env, ...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`pipebook: ${what} needs a local workspace; this one submits to the pipebook server at ${server.url} (do it on the server, or without "server" in pipebook.json and PIPEBOOK_SERVER)\n`);
    }
  });
});
