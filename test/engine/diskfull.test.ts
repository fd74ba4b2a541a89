import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommandStep, Experiment, Pipeline, PipelineData, PythonScriptStep, Workspace } from "pipebook";

/**
 * A real full disk: the workspace lives on a 4 MiB tmpfs. Mounting needs root (CI and the
 * development machines run as root); where mounting is refused the suite says so and skips.
 */
let mountPoint = "";
let canMount = false;
beforeEach(async () => {
  mountPoint = await mkdtemp(join(tmpdir(), "pipebook-full-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint], { stdio: "ignore" });
    canMount = true;
  } catch {
    canMount = false;
    console.warn("diskfull.test: cannot mount a tmpfs here (not root?); the full-disk cases are skipped");
  }
});
afterEach(async () => {
  if (canMount) execFileSync("umount", ["-l", mountPoint]);
  await rm(mountPoint, { recursive: true, force: true });
});

describe("a full disk", () => {
  it("fails the step that fills it, records why, keeps the store consistent and usable", async ({ skip }) => {
    if (!canMount) skip();
    const project = join(mountPoint, "project");
    await mkdir(join(project, "src"), { recursive: true });
    await writeFile(join(project, "src", "fill.py"), "import os\nwith open(os.environ['PIPEBOOK_OUTPUT_BIG'] + '/blob', 'wb') as f:\n    f.write(b'x' * (16 << 20))\n");
    const ws = await Workspace.fromConfig({ path: project });
    try {
      const big = new PipelineData("big");
      const run = await new Experiment(ws, "full").submit(new Pipeline(ws, { steps: [
        new PythonScriptStep({ name: "fill", scriptName: "fill.py", sourceDirectory: join(project, "src"), outputs: [big] }),
        new CommandStep({ name: "after", command: "true", inputs: [big] }),
      ] }));
      const view = await run.waitForCompletion();
      expect(view.status).toBe("failed");
      const fill = view.steps.find((s) => s.name === "fill")!;
      expect(fill.status).toBe("failed");
      expect(fill.error).toMatch(/^step "fill" exited with code 1: OSError: \[Errno 28\] No space left on device/);
      expect(view.steps.find((s) => s.name === "after")!.status).toBe("skipped");
      expect(view.error).toMatch(/\(the store could not be written: database or disk is full; it is updated once it can be\)$/);
      expect(ws.db.pragma("integrity_check", { simple: true })).toBe("ok");
      // The user frees space (here: the failed step's partial output); the refused writes are
      // replayed, and the next run works.
      await rm(join(ws.dataDir, `${run.id}.fill`), { recursive: true, force: true });
      for (let i = 0; i < 50 && ws.runs.getRun(run.id)!.status !== "failed"; i++) await new Promise((r) => setTimeout(r, 200));
      expect(ws.runs.getRun(run.id)!.status).toBe("failed");
      expect(ws.runs.getSteps(run.id).map((s) => s.status)).toEqual(["failed", "skipped"]);
      const ok = await new Experiment(ws, "full").submit(new Pipeline(ws, { steps: [new CommandStep({ name: "small", command: "echo fine" })] }));
      expect((await ok.waitForCompletion()).status).toBe("completed");
    } finally {
      await ws.close();
    }
  });

  it("refuses a submit whose snapshot cannot be written, with the reason, and records no run", async ({ skip }) => {
    if (!canMount) skip();
    const project = join(mountPoint, "project2");
    const source = await mkdtemp(join(tmpdir(), "pipebook-src-"));
    try {
      await writeFile(join(source, "big.bin"), Buffer.alloc(8 << 20, 1));
      await writeFile(join(source, "run.sh"), "true\n");
      await mkdir(project, { recursive: true });
      const ws = await Workspace.fromConfig({ path: project });
      try {
        const before = ws.runs.listRuns().length;
        await expect(
          new Experiment(ws, "full").submit(new Pipeline(ws, { steps: [new CommandStep({ name: "s", command: "sh run.sh", sourceDirectory: source })] })),
        ).rejects.toThrow(/ENOSPC|no space left/i);
        expect(ws.runs.listRuns().length).toBe(before);
        expect(ws.db.pragma("integrity_check", { simple: true })).toBe("ok");
      } finally {
        await ws.close();
      }
    } finally {
      await rm(source, { recursive: true, force: true });
    }
  });
});
