import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { ARTIFACTS, openBrowser, waitForKernelIdle, type BrowserSession } from "./support/browser.js";
import { startWorkbench, type RunningWorkbench } from "./support/workbench.js";

const REPO = path.resolve(import.meta.dirname, "..", "..");
const KERNEL_BUILT = existsSync(path.join(REPO, "kernel", "dist", "install.js"));

/**
 * "Publish pipeline as endpoint" with no pipebook server: the command runs the publishing code
 * in the notebook's own kernel, into the local workspace; the CLI then sees the endpoint.
 */
describe.skipIf(!KERNEL_BUILT)("publishing from a notebook without a server", () => {
  let workbench: RunningWorkbench;
  let browser: BrowserSession;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    workbench = await startWorkbench({ serve: false });
    cpSync(path.join(REPO, "examples", "iris"), path.join(workbench.rootDir, "iris"), { recursive: true, filter: (src) => !src.includes(".pipebook") });
    writeFileSync(path.join(workbench.rootDir, "pipebook.json"), "{}\n");
    browser = await openBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await workbench?.stop();
  });

  it("publishes the notebook's last run through the kernel into the local workspace", async () => {
    const { page } = browser;
    onTestFailed(async () => void (await page.screenshot({ path: path.join(ARTIFACTS, "publish-local-FAILED.png") })));
    await page.goto(workbench.url("iris/iris.ipynb"));
    await page.locator(".pb-ToolbarButton-run-pipeline").waitFor({ timeout: 30_000 });
    await waitForKernelIdle(page, "TypeScript (pipebook)");
    await page.locator(".pb-ToolbarButton-run-pipeline").click();
    await expect.poll(() => page.locator(".jp-Notebook .pb-RunHeader-status").textContent({ timeout: 1000 }).catch(() => null), { timeout: 120_000 }).toBe("completed");
    const runId = await page.locator(".jp-Notebook .pb-RunHeader-title").getAttribute("title");

    await page.locator(".pb-ToolbarButton-publish-pipeline").click();
    const form = page.locator(".jp-Dialog .pb-PublishForm");
    await form.waitFor({ timeout: 10_000 });
    expect(await form.textContent()).toContain(runId);
    await form.locator("input").nth(0).fill("IrisLocal");
    await form.locator("input").nth(1).fill("2.0");
    await page.locator(".jp-Dialog .jp-mod-accept").click();
    const dialog = page.locator(".jp-Dialog");
    await expect.poll(() => dialog.locator(".jp-Dialog-header").textContent(), { timeout: 30_000 }).toBe("Published");
    expect(await dialog.locator(".jp-Dialog-body").textContent()).toContain("as endpoint IrisLocal (version 2.0)");
    await page.screenshot({ path: path.join(ARTIFACTS, "publish-local-done.png") });
    await page.locator(".jp-Dialog .jp-mod-accept").click();

    const endpoints = spawnSync(process.execPath, [path.join(REPO, "engine", "dist", "cli", "main.js"), "endpoints"], { cwd: workbench.rootDir, encoding: "utf8" });
    expect(endpoints.status, endpoints.stderr).toBe(0);
    expect(endpoints.stdout).toContain("IrisLocal");
  }, 240_000);
});
