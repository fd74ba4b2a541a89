import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { RUN_MIME_TYPE } from "pipebook/contract";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { ARTIFACTS, openBrowser, waitForKernelIdle, type BrowserSession } from "./support/browser.js";
import { startWorkbench, type RunningWorkbench } from "./support/workbench.js";
import { irisRun } from "./fixtures/runViews.js";

/**
 * "Rerun changed steps" in a real notebook on ipykernel: after a full run, edit one cell; the
 * command must execute exactly that cell and then the cell that submits (shows a run), and leave
 * the others alone (their execution counts do not move).
 */
function notebook(): string {
  const cell = (id: string, source: string) => ({ cell_type: "code", id, metadata: {}, execution_count: null, source, outputs: [] });
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "python3", display_name: "Python 3", language: "python" } },
    cells: [
      cell("setup", "import json\nfrom IPython.display import display\nsubmits = 0"),
      cell("prep", "prep = 'v1'"),
      cell("train", "train = 'v1'"),
      cell("submit", [
        "submits += 1",
        "view = json.load(open('view.json'))",
        "view['runId'] = 'run-%d-%s' % (submits, train)",
        `display({${JSON.stringify(RUN_MIME_TYPE)}: view, 'text/plain': view['runId']}, raw=True)`,
      ].join("\n")),
    ],
  });
}

describe("Rerun changed steps", () => {
  let workbench: RunningWorkbench;
  let browser: BrowserSession;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    workbench = await startWorkbench();
    writeFileSync(path.join(workbench.rootDir, "view.json"), JSON.stringify(irisRun("x", "completed", {})));
    writeFileSync(path.join(workbench.rootDir, "steps.ipynb"), notebook());
    browser = await openBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await workbench?.stop();
  });

  it("executes the edited cell and the submitting cell only", async () => {
    const { page } = browser;
    onTestFailed(async () => void (await page.screenshot({ path: path.join(ARTIFACTS, "rerun-FAILED.png") })));
    await page.goto(workbench.url("steps.ipynb"));
    await page.locator(".pb-ToolbarButton-run-pipeline").waitFor({ timeout: 30_000 });
    await waitForKernelIdle(page, "Python 3 (ipykernel)");
    const prompts = () => page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").allTextContents().then((all) => all.map((t) => t.trim()));
    await page.locator(".pb-ToolbarButton-run-pipeline").click();
    await expect.poll(prompts, { timeout: 30_000 }).toEqual(["[1]:", "[2]:", "[3]:", "[4]:"]);
    await expect.poll(() => page.locator(".jp-Notebook .pb-RunHeader-title").getAttribute("title"), { timeout: 10_000 }).toBe("run-1-v1");

    const trainEditor = page.locator(".jp-Notebook .jp-CodeCell").nth(2).locator(".cm-content");
    await trainEditor.click();
    await page.keyboard.press("End");
    await page.keyboard.press("Backspace");
    await page.keyboard.press("Backspace");
    await page.keyboard.type("2'");
    await expect.poll(() => trainEditor.textContent(), { timeout: 10_000 }).toBe("train = 'v2'");
    await page.locator(".pb-ToolbarButton-rerun-changed-steps").click();
    await expect.poll(prompts, { timeout: 30_000 }).toEqual(["[1]:", "[2]:", "[5]:", "[6]:"]);
    await expect.poll(() => page.locator(".jp-Notebook .pb-RunHeader-title").getAttribute("title"), { timeout: 10_000 }).toBe("run-2-v2");

    // Nothing edited since: only the submitting cell runs again.
    await page.locator(".pb-ToolbarButton-rerun-changed-steps").click();
    await expect.poll(prompts, { timeout: 30_000 }).toEqual(["[1]:", "[2]:", "[5]:", "[7]:"]);
    await page.screenshot({ path: path.join(ARTIFACTS, "rerun-changed-steps.png") });
  });
});
