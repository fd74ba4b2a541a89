import { execFile } from "node:child_process";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startServer } from "pipebook/server";
import { REPLY_SCHEMAS } from "pipebook/contract/rest";
import { ApiTokens, CommandStep, Experiment, Module, ModuleStep, Pipeline, PipelineData, PublishedPipeline, explainDecision, type PipelineStep, type RunView } from "pipebook";
import { pipebook, sandbox, settle, type Sandbox } from "./helpers.js";

const exec = promisify(execFile);

let sb: Sandbox;
beforeEach(async () => (sb = await sandbox()));
afterEach(async () => sb.close());

/** A module script: reads `--raw DIR`, writes `--out DIR`, with a transform that differs per version. */
function script(transform: string): string {
  return [
    "#!/bin/sh",
    sb.counter("normalize"),
    'while [ $# -gt 0 ]; do case "$1" in --raw) raw="$2"; shift 2;; --out) out="$2"; shift 2;; *) extra="$extra $1"; shift;; esac; done',
    `cat "$raw/f" | ${transform} > "$out/f"`,
    'echo "extra:$extra" >> "$out/f"',
  ].join("\n");
}

async function submit(steps: PipelineStep[], onPrepare?: (step: string, line: string) => void): Promise<{ id: string; view: RunView }> {
  const run = await new Experiment(sb.ws, "mod").submit(new Pipeline(sb.ws, { steps }), onPrepare ? { onPrepare } : {});
  return { id: run.id, view: await run.waitForCompletion() };
}

describe("modules", () => {
  it("lifecycle: versions, default, reuse, a changed version reruns and why names it, deprecate warns, disable refuses at submit", async () => {
    const src = join(sb.dir, "normalize_src");
    await sb.write("normalize_src/norm.sh", script("tr a-z A-Z"));
    const m = await Module.create(sb.ws, { name: "normalize", description: "upper-cases text" });
    await expect(Module.create(sb.ws, { name: "normalize" })).rejects.toThrow('module "normalize" already exists in this workspace; use Module.get(ws, "normalize") to publish a new version of it');

    const v1 = await m.publishShellScript({ command: "sh norm.sh", sourceDirectory: src, inputs: ["raw"], outputs: ["out"], description: "first" });
    expect(v1.version).toBe("1");
    expect(m.defaultVersion).toBe("1");
    // The same content again is the same version; a version never changes.
    expect((await m.publishShellScript({ command: "sh norm.sh", sourceDirectory: src, inputs: ["raw"], outputs: ["out"] })).version).toBe("1");
    await settle();
    await sb.write("normalize_src/norm.sh", script("rev | tr a-z A-Z"));
    await expect(m.publishShellScript({ version: "1", command: "sh norm.sh", sourceDirectory: src, inputs: ["raw"], outputs: ["out"] })).rejects.toThrow(
      'module "normalize" version "1" already exists with other content; a version never changes: publish it under a new version',
    );
    const v2 = await m.publishShellScript({ command: "sh norm.sh", sourceDirectory: src, inputs: ["raw"], outputs: ["out"] });
    expect(v2.version).toBe("2");
    expect(m.defaultVersion).toBe("1");
    expect(v2.digest).not.toBe(v1.digest);

    // Unknown version: one sentence, from Module.get and from ModuleStep.
    await expect(Module.get(sb.ws, "normalize", { version: "9" })).rejects.toThrow('module "normalize" has no version "9" (it has "1", "2")');
    await expect(Module.get(sb.ws, "nope")).rejects.toThrow('no module named "nope" exists in this workspace');
    const raw = new PipelineData("raw");
    const out = new PipelineData("out");
    expect(() => new ModuleStep({ name: "norm", module: m, version: "7", inputs: { raw }, outputs: { out } })).toThrow('module "normalize" has no version "7" (it has "1", "2")');
    expect(() => new ModuleStep({ name: "norm", module: m, inputs: { raw, extra: raw }, outputs: { out } })).toThrow('step norm (module "normalize" version "1"): it has no input port "extra" (its inputs: "raw")');
    expect(() => new ModuleStep({ name: "norm", module: m, inputs: { raw } })).toThrow('step norm (module "normalize" version "1"): no data given for port "out"');

    const make = () => new CommandStep({ name: "make", command: 'echo hello > "$PIPEBOOK_OUTPUT_RAW/f"', outputs: [raw] });
    const uses = (version?: string) => [make(), new ModuleStep({ name: "norm", module: m, ...(version && { version }), inputs: { raw }, outputs: { out }, arguments: ["--loud"] })];

    // The default version (1) runs the code published as 1, from the snapshot (the folder now holds 2's code).
    const first = await submit(uses());
    expect(first.view.status).toBe("completed");
    const outPath = sb.ws.runs.getOutputs(`${first.id}.norm`)[0]!.path;
    expect(await readFile(join(outPath, "f"), "utf8")).toBe("HELLO\nextra: --loud\n");
    expect(await sb.count("normalize")).toBe(1);

    // Unchanged version: reused.
    const again = await submit(uses());
    expect(again.view.steps.find((s) => s.name === "norm")!.status).toBe("reused");
    expect(await sb.count("normalize")).toBe(1);

    // Version 2 by name: reruns, and why names the module version first.
    const second = await submit(uses("2"));
    expect(second.view.steps.find((s) => s.name === "norm")!.status).toBe("completed");
    expect(await sb.count("normalize")).toBe(2);
    expect(await readFile(join(sb.ws.runs.getOutputs(`${second.id}.norm`)[0]!.path, "f"), "utf8")).toBe("OLLEH\nextra: --loud\n");
    const why = explainDecision(sb.ws.runs.getSteps(second.id).find((s) => s.name === "norm")!.decision!);
    expect(why[1]).toBe(`  - module normalize version changed "1" (${v1.digest.slice(0, 12)}) → "2" (${v2.digest.slice(0, 12)})`);
    expect(why).toContain("  - source file norm.sh modified");

    // setDefaultVersion: a step without a version now runs 2 (and reuses the run above).
    await m.setDefaultVersion("2");
    expect((await Module.get(sb.ws, "normalize")).defaultVersion).toBe("2");
    expect((await submit(uses())).view.steps.find((s) => s.name === "norm")!.status).toBe("reused");

    // Deprecated: runs, with a warning at submit naming the module and version.
    await v2.deprecate();
    const lines: string[] = [];
    expect((await submit(uses("2"), (step, line) => lines.push(`${step}: ${line}`))).view.status).toBe("completed");
    expect(lines).toContain('norm: warning: module "normalize" version "2" is deprecated');

    // Disabled: refused at submit by name, even for a step declared before it was disabled; no run is stored.
    const declared = uses("1");
    await v1.disable();
    expect(v1.state).toBe("disabled");
    const before = sb.ws.runs.listRuns({ limit: 100 }).length;
    await expect(new Experiment(sb.ws, "mod").submit(new Pipeline(sb.ws, { steps: declared }))).rejects.toThrow(
      'step "norm" uses module "normalize" version "1", which is disabled; use another version (pipebook modules normalize lists them)',
    );
    expect(sb.ws.runs.listRuns({ limit: 100 }).length).toBe(before);
    await expect(m.setDefaultVersion("1")).rejects.toThrow('module "normalize" version "1" is disabled and cannot be the default; enable it first');
    await v1.enable();
    expect((await submit(uses("1"))).view.steps.find((s) => s.name === "norm")!.status).toBe("reused");

    // The whole module: deprecated warns for every version, disabled refuses them all.
    await m.deprecate();
    const warned: string[] = [];
    expect((await submit(uses("1"), (_step, line) => warned.push(line))).view.status).toBe("completed");
    expect(warned).toEqual(['warning: module "normalize" is deprecated']);
    await m.disable();
    expect((await Module.get(sb.ws, "normalize")).state).toBe("disabled");
    await expect(new Experiment(sb.ws, "mod").submit(new Pipeline(sb.ws, { steps: uses("1") }))).rejects.toThrow(
      'step "norm" uses module "normalize", which is disabled (every version of it); enable it or use another module',
    );
    await m.enable();
    expect((await submit(uses("1"))).view.status).toBe("completed");
  });

  it("a published pipeline keeps its module version and is refused once it is disabled; CLI lists modules and a step's snapshot", async () => {
    await sb.write("greet_src/greet.py", "import sys\nopen(sys.argv[sys.argv.index('--out') + 1] + '/g', 'w').write('hi from module')\n");
    await sb.write("greet_src/helper/notes.txt", "helper file\n");
    // Longer than a tar header's 100-byte name field: the archive puts its folders in the prefix field.
    const deep = `helper/${"a".repeat(60)}/${"b".repeat(60)}.txt`;
    await sb.write(`greet_src/${deep}`, "deep\n");
    const m = await Module.create(sb.ws, { name: "greet" });
    const v1 = await m.publishPythonScript({ scriptName: "greet.py", sourceDirectory: join(sb.dir, "greet_src"), outputs: ["out"] });
    await expect(m.publishPythonScript({ scriptName: "missing.py", sourceDirectory: join(sb.dir, "greet_src") })).rejects.toThrow('module "greet": script "missing.py" is not in its source directory');
    const out = new PipelineData("out");
    const pipeline = new Pipeline(sb.ws, { steps: [new ModuleStep({ module: m, outputs: { out } })] });
    const run = await new Experiment(sb.ws, "mod").submit(pipeline);
    expect((await run.waitForCompletion()).status).toBe("completed");
    expect(await readFile(join(sb.ws.runs.getOutputs(`${run.id}.greet`)[0]!.path, "g"), "utf8")).toBe("hi from module");

    const published = await pipeline.publish({ name: "greeter" });
    await v1.deprecate();
    const again = await PublishedPipeline.get(sb.ws, published.id);
    expect((await (await again.submit("mod")).waitForCompletion()).steps[0]!.status).toBe("reused");
    await v1.disable();
    await expect(again.submit("mod")).rejects.toThrow('step "greet" uses module "greet" version "1", which is disabled');

    const list = await pipebook(sb.dir, "modules");
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^greet\s+active\s+1\s+1\s+1\s*$/m);
    const one = await pipebook(sb.dir, "modules", "greet");
    expect(one.stdout).toMatch(/^1 \*\s+disabled\s+python\s+greet\.py\s+out:out\s/m);
    expect((await pipebook(sb.dir, "modules", "nope")).stderr).toBe('pipebook: no module named "nope" exists in this workspace\n');

    const snap = await pipebook(sb.dir, "snapshot", run.id, "greet");
    expect(snap.code).toBe(0);
    expect(snap.stdout).toContain(`step greet of run ${run.id} (module greet version "1"): 3 files`);
    expect(snap.stdout).toMatch(/^greet\.py\s+\d+ B\s+[0-9a-f]{12}$/m);
    expect(snap.stdout).toMatch(/^helper\/notes\.txt\s+12 B\s+[0-9a-f]{12}$/m);
    const dest = join(sb.dir, "restored");
    expect((await pipebook(sb.dir, "snapshot", run.id, "greet", "--out", dest)).stdout).toBe(`wrote 3 files of step greet (run ${run.id}) to ${dest}\n`);
    expect(await readFile(join(dest, "helper", "notes.txt"), "utf8")).toBe("helper file\n");
    const refused = await pipebook(sb.dir, "snapshot", run.id, "greet", "--out", dest);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(`pipebook: ${join(dest, "greet.py")} already exists; give --out an empty or new folder (nothing was written)\n`);
    expect((await readdir(dest)).sort()).toEqual(["greet.py", "helper"]);
    expect((await pipebook(sb.dir, "snapshot", run.id, "nope")).stderr).toBe(`pipebook: run ${run.id} has no step "nope" (steps: greet)\n`);

    // REST: the same snapshot listed and a file downloaded; modules read back; each reply as documented.
    const server = await startServer({ workspace: sb.ws, port: 0, log: () => undefined });
    try {
      const token = new ApiTokens(sb.ws).create("reader", ["read"]).token;
      const get = (path: string) => fetch(`${server.url}${path}`, { headers: { Authorization: `Bearer ${token}` } });
      const listing = (await (await get(`/runs/${run.id}/steps/greet/snapshot`)).json()) as { files: { path: string; size: number }[]; module: unknown };
      expect(REPLY_SCHEMAS.StepSnapshot.parse(listing)).toBeTruthy();
      expect(listing.module).toEqual({ name: "greet", version: "1" });
      expect(listing.files.map((f) => [f.path, f.size])).toEqual([["greet.py", expect.any(Number)], [deep, 5], ["helper/notes.txt", 12]]);
      const file = await get(`/runs/${run.id}/steps/greet/snapshot/file?path=${encodeURIComponent("helper/notes.txt")}`);
      expect(file.status).toBe(200);
      expect(await file.text()).toBe("helper file\n");
      const archive = await get(`/runs/${run.id}/steps/greet/snapshot/archive`);
      expect(archive.headers.get("content-type")).toBe("application/x-tar");
      await writeFile(join(sb.dir, "snap.tar"), Buffer.from(await archive.arrayBuffer()));
      const untarred = join(sb.dir, "untarred");
      await mkdir(untarred);
      await exec("tar", ["-xf", join(sb.dir, "snap.tar"), "-C", untarred]);
      expect(await readFile(join(untarred, "helper", "notes.txt"), "utf8")).toBe("helper file\n");
      expect(await readFile(join(untarred, deep), "utf8")).toBe("deep\n");
      expect(await readFile(join(untarred, "greet.py"), "utf8")).toBe(await readFile(join(sb.dir, "greet_src", "greet.py"), "utf8"));
      const missing = await get(`/runs/${run.id}/steps/greet/snapshot/file?path=${encodeURIComponent("../../pipebook.db")}`);
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { error: string }).error).toBe(`the snapshot of step "greet" in run ${run.id} has no file ../../pipebook.db`);
      const modules = REPLY_SCHEMAS.ModuleList.parse(await (await get("/modules")).json());
      expect(modules.map((x) => [x.name, x.state, x.defaultVersion, x.versions.map((v) => [v.version, v.state, v.program, v.outputs])])).toEqual([["greet", "active", "1", [["1", "disabled", "greet.py", ["out"]]]]]);
      expect(REPLY_SCHEMAS.Module.parse(await (await get("/modules/greet")).json()).versions[0]!.digest).toBe(v1.digest);
      expect((await get("/modules/nope")).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
