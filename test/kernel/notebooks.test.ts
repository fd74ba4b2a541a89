import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpSync, readdirSync, readFileSync, writeFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { kernelEnv, type KernelEnv } from "./kernelHarness.js";

const RUN_MIME = "application/vnd.pipebook.run+json";
const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));

interface Output { output_type: string; data?: Record<string, unknown>; ename?: string; evalue?: string }
interface Notebook { cells: { cell_type: string; source: string | string[]; outputs?: Output[] }[] }
interface StepV { name: string; status: string; reusedFrom?: { runId: string } }
interface RunV { runId: string; status: string; steps: StepV[] }

function notebooksUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (e === "node_modules" || e.startsWith(".") || e === "cells") continue;
    if (statSync(p).isDirectory()) out.push(...notebooksUnder(p));
    else if (e.endsWith(".ipynb") && !e.includes(".nbconvert")) out.push(p);
  }
  return out;
}

function nbconvert(k: KernelEnv, cwd: string, input: string, output: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile("/usr/bin/jupyter", ["nbconvert", "--to", "notebook", "--execute", input, "--output", output,
      "--ExecutePreprocessor.kernel_name=pipebook-test", "--ExecutePreprocessor.timeout=240"],
    { cwd, env: k.env, timeout: 300_000 }, (err, _stdout, stderr) => resolve({ code: err ? 1 : 0, stderr }));
  });
}

const src = (s: string | string[]): string => (Array.isArray(s) ? s.join("") : s);
function runViews(nb: Notebook): RunV[] {
  return nb.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data?.[RUN_MIME]).map((o) => o.data![RUN_MIME] as RunV);
}

describe("example notebooks under nbconvert --execute", () => {
  let k: KernelEnv;
  beforeAll(async () => { k = await kernelEnv(); });
  afterAll(() => k?.cleanup());

  const notebooks = notebooksUnder(EXAMPLES);
  it("finds the example notebooks", () => { expect(notebooks.length).toBeGreaterThan(0); });

  for (const path of notebooks) {
    it(`${relative(EXAMPLES, path)} runs and saves the pipebook run display`, async () => {
      // A copy, so the run does not leave a workspace in the repo.
      const dir = join(k.root, "nb-" + relative(EXAMPLES, path).replace(/[/\\]/g, "_"));
      cpSync(join(path, ".."), dir, { recursive: true, filter: (s) => !s.includes("/.pipebook") && !s.endsWith("/cells") });
      const name = path.split("/").pop()!;
      const r = await nbconvert(k, dir, name, "executed.ipynb");
      expect(r.code, r.stderr.slice(-4000)).toBe(0);
      const nb = JSON.parse(readFileSync(join(dir, "executed.ipynb"), "utf8")) as Notebook;
      const errors = nb.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.output_type === "error");
      expect(errors).toEqual([]);
      const views = runViews(nb);
      expect(views.length).toBeGreaterThan(0);
      for (const v of views) expect(v.status).toBe("completed");
      // The fallbacks that viewers without the extension show.
      const withRun = nb.cells.flatMap((c) => c.outputs ?? []).find((o) => o.data?.[RUN_MIME])!;
      expect(String(withRun.data!["text/html"])).toContain("<svg");
      expect(String(withRun.data!["text/plain"])).toContain("completed");
      if (name === "iris.ipynb") {
        // The dataset's profile is drawn as a table, with a text fallback.
        const profile = nb.cells.flatMap((c) => c.outputs ?? []).find((o) => String(o.data?.["text/plain"] ?? "").startsWith("150 rows, 5 columns"));
        expect(String(profile?.data?.["text/html"])).toMatch(/<table>.*<td>species<\/td><td>string<\/td><td>150<\/td><td>0<\/td><td>3<\/td>/);
      }
    }, 300_000);
  }

  it("iris from step cells: edit one step cell, rerun: only it and what reads its output run", async () => {
    const dir = join(k.root, "iris-edit");
    cpSync(join(EXAMPLES, "iris"), dir, { recursive: true, filter: (s) => !s.includes("/.pipebook") && !s.endsWith("/cells") });
    const first = await nbconvert(k, dir, "iris.ipynb", "run1.ipynb");
    expect(first.code, first.stderr.slice(-4000)).toBe(0);
    const nb1 = JSON.parse(readFileSync(join(dir, "run1.ipynb"), "utf8")) as Notebook;
    const run1 = runViews(nb1).pop()!;
    expect(run1.steps.map((s) => [s.name, s.status])).toEqual([
      ["prepare", "completed"], ["train", "completed"], ["baseline", "completed"], ["compare", "completed"], ["summarize", "completed"],
    ]);

    // Edit the train cell only (fewer epochs: a different model, so compare sees new input).
    const train = nb1.cells.find((c) => src(c.source).startsWith("%%step train"))!;
    expect(src(train.source)).toContain("EPOCHS = 200");
    train.source = src(train.source).replace("EPOCHS = 200", "EPOCHS = 150");
    writeFileSync(join(dir, "edited.ipynb"), JSON.stringify(nb1));
    const second = await nbconvert(k, dir, "edited.ipynb", "run2.ipynb");
    expect(second.code, second.stderr.slice(-4000)).toBe(0);
    const run2 = runViews(JSON.parse(readFileSync(join(dir, "run2.ipynb"), "utf8")) as Notebook).pop()!;
    expect(run2.runId).not.toBe(run1.runId);

    // The run records in the workspace store say the same as the display.
    const { Workspace, buildRunView } = await import("pipebook");
    const ws = await Workspace.fromConfig({ path: dir });
    const stored = await buildRunView(ws, run2.runId);
    const status = Object.fromEntries(stored!.steps.map((s) => [s.name, s.status]));
    expect(status).toEqual({ prepare: "reused", baseline: "reused", train: "completed", compare: "completed", summarize: "completed" });
    expect(stored!.steps.find((s) => s.name === "prepare")!.reusedFrom?.runId).toBe(run1.runId);
    expect(Object.fromEntries(run2.steps.map((s) => [s.name, s.status]))).toEqual(status);
  }, 400_000);
});
