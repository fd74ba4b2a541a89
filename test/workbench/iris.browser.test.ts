import { cpSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { ARTIFACTS, cssRgb, openBrowser, waitForKernelIdle, type BrowserSession } from "./support/browser.js";
import { shortRunId, STATUS_TABLE } from "pipebook/contract";
import { startWorkbench, type RunningWorkbench } from "./support/workbench.js";
import { SseParser } from "../../jupyterlab-ext/src/model/sseParser.js";

const REPO = path.resolve(import.meta.dirname, "..", "..");
const KERNEL_BUILT = existsSync(path.join(REPO, "kernel", "dist", "install.js"));
const STEPS = ["prepare", "train", "baseline", "compare", "summarize"];

/**
 * The whole workbench for real: the example notebook on the pipebook kernel, steps run by the
 * engine, `pipebook serve` beside Jupyter (sharing the workspace through a pipebook.json at the
 * root), in Chromium. Run all; edit one step cell and rerun (exactly it and its dependents run,
 * the others are reused); open logs and an output preview; break a step and see it red.
 */
describe.skipIf(!KERNEL_BUILT)("the iris notebook in the workbench", () => {
  let workbench: RunningWorkbench;
  let browser: BrowserSession;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    workbench = await startWorkbench({ serve: true });
    cpSync(path.join(REPO, "examples", "iris"), path.join(workbench.rootDir, "iris"), { recursive: true, filter: (src) => !src.includes(".pipebook") });
    writeFileSync(path.join(workbench.rootDir, "pipebook.json"), "{}\n");
    browser = await openBrowser();
  });

  afterAll(async () => {
    writeFileSync(path.join(ARTIFACTS, "iris-timings.json"), JSON.stringify(timings, null, 2));
    await browser?.close();
    await workbench?.stop();
  });

  const nodeStatuses = (page: BrowserSession["page"]) =>
    page.locator(".jp-Notebook .pb-RunGraph .pb-node").evaluateAll((els) => Object.fromEntries(els.map((e) => [e.getAttribute("data-step"), e.getAttribute("data-status")])));
  const runStatus = (page: BrowserSession["page"]) => page.locator(".jp-Notebook .pb-RunHeader-status").textContent({ timeout: 1000 }).catch(() => null);
  const runId = (page: BrowserSession["page"]) => page.locator(".jp-Notebook .pb-RunHeader-title").getAttribute("title", { timeout: 1000 }).catch(() => null);

  /** Puts the cursor at the end of the line of a step cell that contains `text` and replaces `remove` characters before it with `insert`. */
  async function editLine(page: BrowserSession["page"], cellText: string, lineText: string, remove: number, insert: string): Promise<void> {
    const cell = page.locator(".jp-Notebook .jp-CodeCell").filter({ hasText: cellText }).first();
    const line = cell.locator(".cm-line").filter({ hasText: lineText }).first();
    await line.click();
    await page.keyboard.press("End");
    for (let i = 0; i < remove; i++) await page.keyboard.press("Backspace");
    await page.keyboard.type(insert);
    await page.keyboard.press("Escape");
  }

  it("runs every step and shows each one done", async () => {
    const { page } = browser;
    onTestFailed(async () => void (await page.screenshot({ path: path.join(ARTIFACTS, "iris-FAILED-run-all.png") })));
    await page.goto(workbench.url("iris/iris.ipynb"));
    await page.locator(".pb-ToolbarButton-run-pipeline").waitFor({ timeout: 30_000 });
    await waitForKernelIdle(page, "TypeScript (pipebook)");
    const started = Date.now();
    await page.locator(".pb-ToolbarButton-run-pipeline").click();
    await expect.poll(() => page.locator(".jp-Notebook .pb-RunGraph .pb-node").count(), { timeout: 60_000, interval: 100 }).toBe(STEPS.length);
    timings["firstGraphMs"] = Date.now() - started;
    await expect.poll(() => runStatus(page), { timeout: 120_000 }).toBe("completed");
    timings["firstRunCompletedMs"] = Date.now() - started;
    expect(await nodeStatuses(page)).toEqual(Object.fromEntries(STEPS.map((s) => [s, "completed"])));
    const texts = await page.locator(".jp-Notebook .pb-node .pb-node-status").allTextContents();
    expect(texts.every((t) => t.startsWith("✓ completed"))).toBe(true);
    await page.locator(".jp-Notebook .pb-Run").screenshot({ path: path.join(ARTIFACTS, "iris-1-all-done.png") });
  }, 240_000);

  it("reruns exactly the edited step and its dependents, reusing the others", async () => {
    const { page } = browser;
    onTestFailed(async () => void (await page.screenshot({ path: path.join(ARTIFACTS, "iris-FAILED-rerun.png") })));
    const firstRun = await runId(page);
    const prompts = () => page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").allTextContents().then((all) => all.map((t) => t.trim()));
    const before = await prompts();
    await editLine(page, "%%step train", "EPOCHS = 200", 3, "150");
    const started = Date.now();
    // "Rerun changed steps": only the edited cell and the submitting cell execute again.
    await page.locator(".pb-ToolbarButton-rerun-changed-steps").click();
    await expect.poll(() => runId(page), { timeout: 60_000 }).not.toBe(firstRun);
    await expect.poll(() => runStatus(page), { timeout: 120_000 }).toBe("completed");
    timings["rerunCompletedMs"] = Date.now() - started;
    const after = await prompts();
    const changed = after.map((p, i) => (p === before[i] ? null : i)).filter((i) => i !== null);
    const cells = await page.locator(".jp-Notebook .jp-CodeCell .cm-content").allTextContents();
    expect(changed.map((i) => cells[i!]!.split("\n")[0]!.slice(0, 20))).toEqual(["%%step train --input", "%pipeline run iris-n"]);
    expect(await nodeStatuses(page)).toEqual({ prepare: "reused", train: "completed", baseline: "reused", compare: "completed", summarize: "completed" });
    const prepare = page.locator('.jp-Notebook .pb-node[data-step="prepare"]');
    expect(await prepare.textContent()).toContain(`from run ${shortRunId(firstRun ?? "")}`);
    // The reused step links to the run its result comes from: the side panel opens it.
    await prepare.click();
    const source = page.locator(".jp-Notebook .pb-Details-source");
    expect(await source.textContent()).toBe(`Open run ${shortRunId(firstRun ?? "")}, where this result comes from`);
    await source.click();
    const panel = page.locator("#pipebook-runs-panel");
    await expect.poll(() => panel.locator(".pb-RunHeader-title").getAttribute("title", { timeout: 1000 }).catch(() => null), { timeout: 15_000 }).toBe(firstRun);
    await page.screenshot({ path: path.join(ARTIFACTS, "iris-2b-source-run-in-panel.png") });
    await page.locator('.jp-SideBar [data-id="pipebook-runs-panel"]').click();
    await prepare.click();
    await page.locator(".jp-Notebook .pb-Run").screenshot({ path: path.join(ARTIFACTS, "iris-2-rerun-reused.png") });
  }, 240_000);

  it("opens a step's logs and output preview", async () => {
    const { page } = browser;
    onTestFailed(async () => void (await page.screenshot({ path: path.join(ARTIFACTS, "iris-FAILED-details.png") })));
    await page.locator('.jp-Notebook .pb-node[data-step="train"]').click();
    const details = page.locator(".jp-Notebook .pb-Details");
    await expect.poll(() => details.getAttribute("data-step"), { timeout: 10_000 }).toBe("train");
    expect(await details.locator(".pb-Details-why").textContent()).toMatch(/^Why: /);
    await expect.poll(() => details.locator(".pb-Log").textContent(), { timeout: 10_000 }).not.toBe("");
    await page.locator(".jp-Notebook .pb-Run").screenshot({ path: path.join(ARTIFACTS, "iris-3-train-log.png") });
    await page.locator('.jp-Notebook .pb-node[data-step="compare"]').click();
    await details.locator('.pb-Details-tab[data-tab="outputs"]').click();
    const table = details.locator(".pb-Preview-table table");
    await expect.poll(() => table.locator("thead th").allTextContents(), { timeout: 10_000 }).toEqual(["rank", "model", "accuracy"]);
    expect(await table.locator("tbody tr").count()).toBe(2);
    await page.locator(".jp-Notebook .pb-Run").screenshot({ path: path.join(ARTIFACTS, "iris-4-compare-output.png") });
  }, 60_000);

  it("publishes the pipeline as an endpoint, which the side panel then lists with the runs", async () => {
    const { page } = browser;
    onTestFailed(async () => void (await page.screenshot({ path: path.join(ARTIFACTS, "iris-FAILED-publish.png") })));
    await page.locator(".pb-ToolbarButton-publish-pipeline").click();
    const form = page.locator(".jp-Dialog .pb-PublishForm");
    await form.waitFor({ timeout: 10_000 });
    await form.locator("input").nth(0).fill("IrisEndpoint");
    await form.locator("input").nth(1).fill("1.0");
    await form.locator("input").nth(2).fill("iris from the notebook");
    await page.screenshot({ path: path.join(ARTIFACTS, "iris-6-publish-dialog.png") });
    await page.locator(".jp-Dialog .jp-mod-accept").click();
    const result = page.locator(".jp-Dialog");
    await expect.poll(() => result.locator(".jp-Dialog-header").textContent(), { timeout: 20_000 }).toBe("Published");
    expect(await result.locator(".jp-Dialog-body").textContent()).toContain("IrisEndpoint");
    await page.locator(".jp-Dialog .jp-mod-accept").click();

    await page.locator('.jp-SideBar [data-id="pipebook-runs-panel"]').click();
    const panel = page.locator("#pipebook-runs-panel");
    await panel.locator(".pb-Button").click();
    await expect.poll(() => panel.locator("section").nth(2).textContent(), { timeout: 15_000 }).toContain("IrisEndpoint");
    expect(await panel.locator("section").nth(1).textContent()).toContain("v1.0");
    expect(await panel.locator("section").nth(0).locator(".pb-Panel-item").count()).toBe(2);
    await page.screenshot({ path: path.join(ARTIFACTS, "iris-7-panel.png") });
    // Run the published pipeline from the panel: the server runs it, the panel follows it live
    // over the server's event stream (through the workbench's proxy) until it completes.
    await panel.locator("section").nth(1).locator(".pb-Panel-link").click();
    await expect.poll(() => panel.locator(".pb-RunHeader-experiment").textContent({ timeout: 1000 }).catch(() => null), { timeout: 20_000 }).toBe("workbench");
    await expect.poll(() => panel.locator(".pb-RunHeader-status").textContent({ timeout: 1000 }).catch(() => null), { timeout: 60_000 }).toBe("completed");
    expect(await panel.locator(".pb-node").count()).toBe(STEPS.length);
    // The list catches up with the finished run.
    await expect.poll(() => panel.locator("section").nth(0).locator(".pb-Panel-item").first().textContent(), { timeout: 15_000 }).toMatch(/workbench\s*completed$/);
    await page.screenshot({ path: path.join(ARTIFACTS, "iris-8-panel-run-of-published.png") });
    // Back to the notebook for the next test.
    await page.locator('.jp-SideBar [data-id="pipebook-runs-panel"]').click();
  }, 60_000);

  it("shows a failing step in red with its error", async () => {
    const { page } = browser;
    onTestFailed(async () => void (await page.screenshot({ path: path.join(ARTIFACTS, "iris-FAILED-failure.png") })));
    const before = await runId(page);
    await editLine(page, "%%step summarize", "cat \"$PIPEBOOK_OUTPUT_SUMMARY/summary.txt\"", 0, "\necho 'no summary today' >&2; exit 3");
    await page.locator(".pb-ToolbarButton-run-pipeline").click();
    await expect.poll(() => runId(page), { timeout: 60_000 }).not.toBe(before);
    await expect.poll(() => runStatus(page), { timeout: 120_000 }).toBe("failed");
    const statuses = await nodeStatuses(page);
    expect(statuses["summarize"]).toBe("failed");
    expect(statuses["compare"]).toBe("reused");
    const node = page.locator('.jp-Notebook .pb-node[data-step="summarize"]');
    // Drawn in the status table's failed colour, as on every surface.
    const stroke = await node.locator(".pb-node-box").evaluate((el) => getComputedStyle(el).stroke);
    expect(stroke).toBe(cssRgb(STATUS_TABLE.failed.colour));
    await node.click();
    const details = page.locator(".jp-Notebook .pb-Details");
    await expect.poll(() => details.locator(".pb-Details-error").textContent(), { timeout: 10_000 }).toMatch(/3/);
    await details.locator('.pb-Details-tab[data-tab="logs"]').click();
    await expect.poll(() => details.locator(".pb-Log").textContent(), { timeout: 10_000 }).toContain("no summary today");
    await page.locator(".jp-Notebook .pb-Run").screenshot({ path: path.join(ARTIFACTS, "iris-5-failed-step.png") });
  }, 240_000);

  it("streams a server run's events through the workbench proxy as they happen", async () => {
    const auth = { Authorization: `token ${workbench.token}` };
    const api = `${workbench.baseUrl}pipebook/api/`;
    const pipelines = (await (await fetch(`${api}pipelines`, { headers: auth })).json()) as { id: string }[];
    expect(pipelines.length).toBeGreaterThan(0);
    // A new learning rate: train and what follows must run, so the run lasts long enough to stream.
    const submitted = await fetch(`${api}pipelines/${pipelines[0]!.id}/runs`, {
      method: "POST",
      headers: { ...auth, "Content-Type": "application/json" },
      body: JSON.stringify({ ExperimentName: "proxy-stream", ParameterAssignments: { learning_rate: 0.05 } }),
    });
    expect(submitted.status, await submitted.clone().text()).toBeLessThan(300);
    const { Id } = (await submitted.json()) as { Id: string };
    const events = await fetch(`${api}runs/${Id}/events`, { headers: auth });
    expect(events.headers.get("content-type")).toContain("text/event-stream");
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const seen: { at: number; status: string; steps: string }[] = [];
    const reader = events.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const event of parser.push(decoder.decode(value, { stream: true }))) {
        const view = JSON.parse(event.data) as { status: string; steps: { name: string; status: string }[] };
        seen.push({ at: Date.now(), status: view.status, steps: view.steps.map((st) => `${st.name}=${st.status}`).join(" ") });
      }
    }
    expect(seen.length).toBeGreaterThan(1);
    expect(seen[0]!.status).not.toBe("completed");
    expect(seen[seen.length - 1]!.status).toBe("completed");
    // train reran for the new rate; what follows reruns only if its input's content changed.
    expect(seen[seen.length - 1]!.steps).toMatch(/^prepare=reused train=completed baseline=reused compare=completed summarize=(completed|reused)$/);
    // Streamed, not buffered: the server looks at the run every 250 ms, so two views are at
    // least that far apart when they are passed on as they come (a buffered reply has ~0).
    expect(seen[seen.length - 1]!.at - seen[0]!.at).toBeGreaterThan(100);
  }, 120_000);
});
