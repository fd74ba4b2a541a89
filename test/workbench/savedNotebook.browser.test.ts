import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBrowser, ARTIFACTS, cssRgb, type BrowserSession } from "./support/browser.js";
import { startWorkbench, type RunningWorkbench } from "./support/workbench.js";
import { finishedRunWithDetails } from "./fixtures/runViews.js";
import { notebookWithRun } from "./fixtures/notebooks.js";
import { STATUS_TABLE } from "pipebook/contract";

/**
 * A notebook saved with a run output, opened in the real workbench (bundled JupyterLab served by
 * jupyter-server) in Debian's Chromium: the graph is drawn from the saved (untrusted) output,
 * every status shows, and a click on a step opens its logs, metrics and output previews.
 */
const stepNode = (page: BrowserSession["page"], step: string) => page.locator(".jp-Notebook .pb-Run").first().locator(`.pb-node[data-step="${step}"]`);

describe("a saved run output in the workbench", () => {
  let workbench: RunningWorkbench;
  let browser: BrowserSession;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    workbench = await startWorkbench();
    // A second output from a future engine: the renderer must say why it cannot draw it, not break.
    const future = { output_type: "display_data", metadata: {}, data: { "application/vnd.pipebook.run+json": { ...finishedRunWithDetails(), version: 99 } } };
    // And one whose edges name a step the view lacks: drawn without it, and said so.
    const view = finishedRunWithDetails();
    const dangling = { output_type: "display_data", metadata: {}, data: { "application/vnd.pipebook.run+json": { ...view, edges: [...view.edges, { from: "ghost", to: "train", data: "x" }] } } };
    writeFileSync(path.join(workbench.rootDir, "saved-run.ipynb"), notebookWithRun(view, [future, dangling]));
    browser = await openBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await workbench?.stop();
  });

  it("draws the graph with each step's status, reuse source and error", async () => {
    const { page } = browser;
    await page.goto(workbench.url("saved-run.ipynb"));
    const nodes = page.locator(".jp-Notebook .pb-Run").first().locator(".pb-RunGraph .pb-node");
    await expect.poll(() => nodes.count(), { timeout: 30_000 }).toBe(4);
    const statuses = await nodes.evaluateAll((els) => els.map((e) => [e.getAttribute("data-step"), e.getAttribute("data-status"), e.textContent]));
    expect(statuses).toEqual([
      ["prep", "completed", expect.stringContaining("✓ completed · 1.2 s")],
      ["train", "reused", expect.stringContaining("from run run-11aa22bb")],
      ["profile", "completed", expect.stringContaining("✓ completed · 1 m 02 s")],
      ["evaluate", "failed", expect.stringContaining("step evaluate exited")],
    ]);
    // Failed is drawn in the status table's failed colour, reused in its reused colour (as on every surface).
    const stroke = (step: string) => stepNode(page, step).locator(".pb-node-box").evaluate((el) => getComputedStyle(el).stroke);
    expect(await stroke("evaluate")).toBe(cssRgb(STATUS_TABLE.failed.colour));
    expect(await stroke("train")).toBe(cssRgb(STATUS_TABLE.reused.colour));
    expect(await stroke("train")).not.toBe(await stroke("prep"));
    await expect.poll(() => page.locator(".jp-Notebook .pb-Run").first().locator(".pb-RunHeader").textContent(), { timeout: 10_000 }).toContain("Run run-2f6c1a9e");
    await page.locator(".jp-Notebook .pb-Run").first().screenshot({ path: path.join(ARTIFACTS, "saved-run-graph-light.png") });
    const message = page.locator(".jp-Notebook .pb-Run").nth(1).locator(".pb-RunMessage");
    expect(await message.textContent()).toBe("This pipebook run output cannot be shown: run view version 99 (this renderer draws version 1)");
    const third = page.locator(".jp-Notebook .pb-Run").nth(2);
    expect(await third.locator(".pb-node").count()).toBe(4);
    expect(await third.locator(".pb-RunGraph-note").textContent()).toBe("Not drawn (step not in this run): ghost → train (x)");
    expect(await page.locator(".jp-Notebook .pb-Run").first().locator(".pb-RunGraph-note").isHidden()).toBe(true);
  });

  it("opens a step's error and log, a table preview and a metric plot", async () => {
    const { page } = browser;
    const details = page.locator(".jp-Notebook .pb-Run").first().locator(".pb-Details");
    await stepNode(page, "evaluate").click();
    await expect.poll(() => details.getAttribute("data-step"), { timeout: 10_000 }).toBe("evaluate");
    expect(await details.locator(".pb-Details-error").textContent()).toContain("ValueError: could not convert string to float");
    expect(await details.locator(".pb-Details-why").textContent()).toBe("Why: input model changed (train reused from run 11aa22bb)");
    expect(await details.locator(".pb-Log").textContent()).toContain('File "evaluate.py", line 12');
    await page.locator(".jp-Notebook .pb-Run").first().screenshot({ path: path.join(ARTIFACTS, "saved-run-failed-step.png") });

    await stepNode(page, "prep").click();
    await details.locator('.pb-Details-tab[data-tab="outputs"]').click();
    const table = details.locator(".pb-Preview-table table");
    await expect.poll(() => table.locator("tbody tr").count(), { timeout: 10_000 }).toBe(3);
    expect(await table.locator("thead th").allTextContents()).toEqual(["sepal_length", "sepal_width", "species"]);
    await page.locator(".jp-Notebook .pb-Run").first().screenshot({ path: path.join(ARTIFACTS, "saved-run-output-preview.png") });

    await stepNode(page, "train").click();
    await details.locator('.pb-Details-tab[data-tab="metrics"]').click();
    const loss = details.locator('tr[data-metric="loss"]');
    expect(await loss.locator(".pb-Metrics-value").textContent()).toBe("0.3");
    expect(await loss.locator("polyline").getAttribute("points")).toMatch(/^[\d.]+,[\d.]+( [\d.]+,[\d.]+){5}$/);
    expect(await details.locator(".pb-Details-meta").textContent()).toContain("reused from run run-11aa22bb (iris-exp)");
    await page.locator(".jp-Notebook .pb-Run").first().screenshot({ path: path.join(ARTIFACTS, "saved-run-metrics.png") });
  });

  it("previews images, file lists and text, and refuses to draw SVG from a payload", async () => {
    const { page } = browser;
    const details = page.locator(".jp-Notebook .pb-Run").first().locator(".pb-Details");
    await stepNode(page, "profile").click();
    await details.locator('.pb-Details-tab[data-tab="outputs"]').click();
    const image = details.locator('[data-output="histogram"] img');
    await expect.poll(() => image.evaluate((img) => (img as HTMLImageElement).naturalWidth), { timeout: 10_000 }).toBe(24);
    expect(await details.locator('[data-output="plots"] li').allTextContents()).toEqual(["a.png  (2.0 KiB)", "b.svg  (300 B)"]);
    expect(await details.locator('[data-output="profile"] pre').textContent()).toBe("rows: 150\ncolumns: 5\n");
    expect(await details.locator('[data-output="unsafe"] img').count()).toBe(0);
    expect(await details.locator('[data-output="unsafe"]').textContent()).toContain("Image of type image/svg+xml (not drawn).");
    await page.locator(".jp-Notebook .pb-Run").first().screenshot({ path: path.join(ARTIFACTS, "saved-run-previews.png") });
  });

  it("is readable in the dark theme", async () => {
    const { page } = browser;
    const settings = path.join(workbench.runtimeDir, "user_settings", "@jupyterlab", "apputils-extension");
    mkdirSync(settings, { recursive: true });
    writeFileSync(path.join(settings, "themes.jupyterlab-settings"), JSON.stringify({ theme: "JupyterLab Dark" }));
    await page.goto(workbench.url("saved-run.ipynb"));
    await expect.poll(() => page.locator("body").getAttribute("data-jp-theme-light"), { timeout: 30_000 }).toBe("false");
    await expect.poll(() => page.locator(".jp-Notebook .pb-Run").first().locator(".pb-RunGraph .pb-node").count(), { timeout: 30_000 }).toBe(4);
    const [text, background] = await stepNode(page, "prep").evaluate((node) => [
      getComputedStyle(node.querySelector(".pb-node-name")!).fill,
      getComputedStyle(node.querySelector(".pb-node-box")!).fill,
    ]);
    const luminance = (rgb: string) => {
      const [r, g, b] = (rgb.match(/\d+/g) ?? []).map(Number);
      return 0.2126 * (r ?? 0) + 0.7152 * (g ?? 0) + 0.0722 * (b ?? 0);
    };
    // Light text on a dark box.
    expect(luminance(text!)).toBeGreaterThan(150);
    expect(luminance(background!)).toBeLessThan(80);
    await page.locator(".jp-Notebook .pb-Run").first().screenshot({ path: path.join(ARTIFACTS, "saved-run-graph-dark.png") });
    writeFileSync(path.join(settings, "themes.jupyterlab-settings"), JSON.stringify({ theme: "JupyterLab Light" }));
  });
});
