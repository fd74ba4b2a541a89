import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommandStep, Experiment, Pipeline, RunConfiguration } from "pipebook";
import { buildPage } from "../../engine/scripts/buildPage.mjs";
import { pipebook } from "../engine/helpers.js";
import { agentSandbox, type AgentSandbox } from "./helpers.js";

// Stand-in GPUs (PIPEBOOK_GPUS=0,1 in each agent's environment; see helpers.ts): no GPU here.
let as: AgentSandbox;
beforeEach(async () => (as = await agentSandbox()));
afterEach(async () => as.close());

describe("GPU slots on a pool of agents", () => {
  it("gives two gpus:1 steps different CUDA_VISIBLE_DEVICES; a third waits in the pool's queue and then runs", async () => {
    as.agent("gpu-1");
    await as.waitForAgent("gpu-1");
    // Each step claims its GPU with an exclusive marker file: two steps on one GPU would make one fail.
    const claim = (name: string) =>
      new CommandStep({
        name, allowReuse: false, computeTarget: "a100", runconfig: new RunConfiguration({ gpus: 1 }),
        command: `set -C; echo ${name} > ${as.sb.dir}/busy-$CUDA_VISIBLE_DEVICES || exit 9; echo "cvd=[$CUDA_VISIBLE_DEVICES]"; sleep 0.5; rm ${as.sb.dir}/busy-$CUDA_VISIBLE_DEVICES`,
      });
    const run = await new Experiment(as.ws, "slots").submit(new Pipeline(as.ws, { steps: ["a", "b", "c"].map(claim) }));
    const view = await run.waitForCompletion();
    expect(view.steps.map((s) => s.status)).toEqual(["completed", "completed", "completed"]);
    const seen = view.steps.map((s) => /cvd=\[(\d)\]/.exec(s.logTail ?? "")?.[1]);
    expect(seen.every((g) => g === "0" || g === "1")).toBe(true);
    const waited = view.steps.filter((s) => (s.logTail ?? "").includes("[pipebook] waiting for 1 GPU in pool a100 (0 ahead)"));
    expect(waited).toHaveLength(1);
    expect(new Set(view.steps.filter((s) => !waited.includes(s)).map((s) => /cvd=\[(\d)\]/.exec(s.logTail ?? "")?.[1]))).toEqual(new Set(["0", "1"]));
  });

  it("lists agents with their slots: pipebook agents (another process, from the store), GET /agents and the studio page", async () => {
    as.agent("gpu-1");
    await as.waitForAgent("gpu-1");
    const gate = `${as.sb.dir}/gate`;
    const run = await new Experiment(as.ws, "slots").submit(new Pipeline(as.ws, {
      steps: [new CommandStep({ name: "hold", allowReuse: false, computeTarget: "a100", runconfig: new RunConfiguration({ gpus: 1 }), command: `touch ${as.sb.dir}/held; while [ ! -e ${gate} ]; do sleep 0.05; done` })],
    }));
    while (!(await import("node:fs")).existsSync(`${as.sb.dir}/held`)) await new Promise((r) => setTimeout(r, 20));
    const listed = await pipebook(as.sb.dir, "agents");
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`gpu-1 +online +gpu=a100 +0:busy 1:free +${run.id}\\.hold \\[GPU 0\\]`));
    const reply = await fetch(`${as.server.url}/agents`, { headers: { Authorization: `Bearer ${as.readToken}` } });
    const body = (await reply.json()) as { agents: { name: string; slots: unknown[] }[]; pools: { name: string; waiting: string[] }[] };
    expect(body.agents[0]!.slots).toEqual([{ gpu: 0, step: `${run.id}.hold` }, { gpu: 1, step: null }]);
    expect(body.pools).toEqual([{ name: "a100", labels: { gpu: "a100" }, waiting: [] }]);
    // The studio page draws the same slots, in headless Chromium.
    await buildPage();
    const profile = await mkdtemp(join(tmpdir(), "pipebook-chromium-"));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: process.env["PIPEBOOK_CHROMIUM"] ?? "/usr/bin/chromium", headless: true, args: ["--no-sandbox", "--disable-gpu", "--no-first-run"],
    });
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      await page.goto(`${as.server.url}/`);
      await page.fill("#token", as.readToken);
      await page.click("#token-form button");
      const row = page.locator("#agents tbody tr", { hasText: "gpu-1" });
      await expect.poll(() => row.textContent(), { timeout: 20_000 }).toContain(`GPU 0: busy (${run.id}.hold) · GPU 1: free`);
      expect(await row.textContent()).toContain("online");
      expect(await page.textContent("#agents-note")).toBe("pool a100: 0 waiting");
    } finally {
      await browser.close();
      await rm(profile, { recursive: true, force: true });
    }
    (await import("node:fs")).writeFileSync(gate, "");
    expect((await run.waitForCompletion()).status).toBe("completed");
  });
});
