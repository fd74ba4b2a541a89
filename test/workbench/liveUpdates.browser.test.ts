import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { ARTIFACTS, openBrowser, waitForKernelIdle, type BrowserSession } from "./support/browser.js";
import { startWorkbench, type RunningWorkbench } from "./support/workbench.js";
import { irisRun } from "./fixtures/runViews.js";
import { liveUpdateNotebook } from "./fixtures/liveNotebook.js";

const VIEWS = [
  irisRun("run-live-0001", "queued", {}),
  irisRun("run-live-0001", "running", { prep: { status: "running", logTail: "reading iris.csv\n" } }),
  irisRun("run-live-0001", "running", { prep: { status: "running", logTail: "reading iris.csv\nwrote 150 rows\n" } }),
  irisRun("run-live-0001", "running", { prep: { status: "completed", durationMs: 2100, logTail: "reading iris.csv\nwrote 150 rows\n" }, train: { status: "running" }, profile: { status: "reused", reusedFrom: { runId: "run-old-42", stepRunId: "x", experiment: "iris-exp" } } }),
  irisRun("run-live-0001", "completed", {
    prep: { status: "completed", durationMs: 2100, logTail: "reading iris.csv\nwrote 150 rows\n" },
    train: { status: "completed", durationMs: 3300, metrics: [{ name: "loss", points: [0.8, 0.5, 0.4].map((value, index) => ({ index, value })) }] },
    profile: { status: "reused", reusedFrom: { runId: "run-old-42", stepRunId: "x", experiment: "iris-exp" } },
    evaluate: { status: "completed", durationMs: 500 },
  }),
];

/**
 * Live updates through real Jupyter messaging: display_data, then update_display_data with the
 * same display id. The graph must repaint in place (no node moves, one output, the opened step
 * stays open) and show every status the kernel sent.
 */
describe("live run updates in the workbench", () => {
  let workbench: RunningWorkbench;
  let browser: BrowserSession;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    workbench = await startWorkbench();
    writeFileSync(path.join(workbench.rootDir, "views.json"), JSON.stringify(VIEWS));
    writeFileSync(path.join(workbench.rootDir, "live.ipynb"), liveUpdateNotebook("views.json", 4, 1));
    browser = await openBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await workbench?.stop();
  });

  it("repaints statuses in place without moving anything and keeps the opened step", async () => {
    const { page } = browser;
    onTestFailed(async () => {
      await page.screenshot({ path: path.join(ARTIFACTS, "live-FAILED.png") });
    });
    await page.goto(workbench.url("live.ipynb"));
    const runButton = page.locator(".pb-ToolbarButton-run-pipeline");
    await runButton.waitFor({ timeout: 30_000 });
    // Run only once the kernel is up: a run requested while the session starts is not queued.
    await waitForKernelIdle(page, "Python 3 (ipykernel)");
    await runButton.click();

    const nodes = page.locator(".jp-Notebook .pb-RunGraph .pb-node");
    await expect.poll(() => nodes.count(), { timeout: 30_000 }).toBe(4);
    // Record every status change and every node's box at that moment, in the page.
    await page.evaluate(() => {
      const record: { statuses: string[]; boxes: string[] } = { statuses: [], boxes: [] };
      (window as unknown as { pbRecord: typeof record }).pbRecord = record;
      const graph = document.querySelector(".jp-Notebook .pb-RunGraph")!;
      const snapshot = () => {
        const all = [...graph.querySelectorAll(".pb-node")];
        record.statuses.push(all.map((n) => `${n.getAttribute("data-step")}=${n.getAttribute("data-status")}`).join(" "));
        record.boxes.push(JSON.stringify(all.map((n) => { const r = n.getBoundingClientRect(); return [Math.round(r.x), Math.round(r.y), Math.round(r.width), Math.round(r.height)]; })));
      };
      snapshot();
      new MutationObserver(snapshot).observe(graph, { attributes: true, subtree: true, attributeFilter: ["data-status"] });
    });
    await page.locator('.jp-Notebook .pb-node[data-step="prep"]').click();
    const details = page.locator(".jp-Notebook .pb-Details");
    await expect.poll(() => details.locator(".pb-Log").textContent(), { timeout: 20_000 }).toContain("wrote 150 rows");
    await page.locator(".jp-Notebook .pb-Run").screenshot({ path: path.join(ARTIFACTS, "live-running.png") });
    await expect.poll(() => page.locator(".jp-Notebook .pb-RunHeader-status").textContent(), { timeout: 30_000 }).toBe("completed");
    await expect.poll(() => page.locator(".jp-OutputArea-output").last().textContent(), { timeout: 10_000 }).toContain("played 5 views");

    const record = await page.evaluate(() => (window as unknown as { pbRecord: { statuses: string[]; boxes: string[] } }).pbRecord);
    const distinct = record.statuses.filter((s, i) => s !== record.statuses[i - 1]);
    expect(distinct).toContain("prep=running train=queued profile=queued evaluate=queued");
    expect(distinct).toContain("prep=completed train=running profile=reused evaluate=queued");
    expect(distinct[distinct.length - 1]).toBe("prep=completed train=completed profile=reused evaluate=completed");
    // No layout jumps: every node kept its exact box through all updates.
    expect(new Set(record.boxes).size).toBe(1);
    // update_display_data replaced the output instead of adding one, and the opened step stayed open.
    expect(await page.locator(".jp-Notebook .pb-Run").count()).toBe(1);
    expect(await details.getAttribute("data-step")).toBe("prep");
    expect(await details.locator(".pb-Details-meta").textContent()).toContain("completed");
    await page.locator(".jp-Notebook .pb-Run").screenshot({ path: path.join(ARTIFACTS, "live-completed.png") });
    expect(browser.consoleErrors.filter((e) => /pipebook|pb-/i.test(e))).toEqual([]);
  });
});
