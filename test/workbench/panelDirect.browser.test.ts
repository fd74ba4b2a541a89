import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { freePort } from "../../jupyterlab-ext/app/launch.mjs";
import { ARTIFACTS, openBrowser, type BrowserSession } from "./support/browser.js";
import { startWorkbench, type RunningWorkbench } from "./support/workbench.js";

const REPO = path.resolve(import.meta.dirname, "..", "..");
const CLI = path.join(REPO, "engine", "dist", "cli", "main.js");

/**
 * The panel as it works in someone else's JupyterLab (after `pipebook lab install`): no proxy,
 * the server URL and token come from Settings → pipebook, and the real `pipebook serve` allows
 * the page's origin (`--cors-origin`). The browser calls it directly with the bearer token.
 */
describe("the side panel talking to a pipebook server directly (settings + CORS)", () => {
  const root = mkdtempSync(path.join(tmpdir(), "pipebook-direct-"));
  let serve: ChildProcess;
  let workbench: RunningWorkbench;
  let browser: BrowserSession;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(path.join(root, "pipebook.json"), "{}\n");
    // One real run in the workspace, made with the CLI.
    const run = spawnSync(process.execPath, [CLI, "run", path.join(REPO, "examples", "iris", "pipeline.ts")], { cwd: root, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);

    const labPort = await freePort();
    const apiPort = await freePort();
    serve = spawn(process.execPath, [CLI, "serve", "--port", String(apiPort), "--token", "direct-token-1", "--cors-origin", `http://127.0.0.1:${labPort}`], { cwd: root, stdio: "ignore" });
    const apiUrl = `http://127.0.0.1:${apiPort}/`;
    for (let i = 0; i < 100; i++) {
      if (await fetch(`${apiUrl}health`).then((r) => r.ok, () => false)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    workbench = await startWorkbench({ serve: false, port: labPort });
    const settings = path.join(workbench.runtimeDir, "user_settings", "@pipebook", "jupyterlab-ext");
    mkdirSync(settings, { recursive: true });
    writeFileSync(path.join(settings, "panel.jupyterlab-settings"), JSON.stringify({ serverUrl: apiUrl, token: "direct-token-1" }));
    browser = await openBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await workbench?.stop();
    serve?.kill();
    rmSync(root, { recursive: true, force: true });
  });

  it("lists the workspace's runs and opens one", async () => {
    const { page } = browser;
    onTestFailed(async () => void (await page.screenshot({ path: path.join(ARTIFACTS, "panel-direct-FAILED.png") })));
    await page.goto(workbench.url());
    await page.locator('.jp-SideBar [data-id="pipebook-runs-panel"]').click({ timeout: 30_000 });
    const panel = page.locator("#pipebook-runs-panel");
    await expect.poll(() => panel.locator("section").nth(0).locator(".pb-Panel-item").count(), { timeout: 20_000 }).toBe(1);
    expect(await panel.locator(".pb-Panel-status").getAttribute("data-state")).toBe("ready");
    await panel.locator("section").nth(0).locator(".pb-Panel-link").click();
    await expect.poll(() => panel.locator(".pb-RunHeader-status").textContent({ timeout: 1000 }).catch(() => null), { timeout: 15_000 }).toBe("completed");
    expect(await panel.locator(".pb-RunHeader-experiment").textContent()).not.toBe("");
    expect(await panel.locator(".pb-node").count()).toBeGreaterThanOrEqual(3);
    await page.screenshot({ path: path.join(ARTIFACTS, "panel-direct.png") });
  });
});
