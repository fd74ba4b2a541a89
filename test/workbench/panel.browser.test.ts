import { mkdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { ARTIFACTS, openBrowser, type BrowserSession } from "./support/browser.js";
import { startStandInServer, type StandInServer } from "./support/standInServer.js";
import { startWorkbench, type RunningWorkbench } from "./support/workbench.js";
import { finishedRunWithDetails, irisRun } from "./fixtures/runViews.js";

const LIVE = "run-live-panel";
const SLOW = "run-slow-panel";
/** A log that gains a line every 400 ms from its first read on. */
let slowLogStart = 0;
const slowLog = (): string => {
  slowLogStart ||= Date.now();
  const lines = 1 + Math.floor((Date.now() - slowLogStart) / 400);
  return Array.from({ length: lines }, (_, i) => `epoch ${i + 1}`).join("\n");
};
const FULL_LOG = Array.from({ length: 200 }, (_, i) => `prep line ${i + 1}`).join("\n");

/**
 * The side panel through the workbench's proxy (`<base>/pipebook/api/*` → the pipebook server,
 * bearer token added server-side), against a stand-in for `pipebook serve` (see
 * support/standInServer.ts): lists, a run followed live over SSE, a full log, a submit.
 */
describe("the pipebook side panel", () => {
  let api: StandInServer;
  let workbench: RunningWorkbench;
  let browser: BrowserSession;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const done = finishedRunWithDetails();
    api = await startStandInServer({
      runs: {
        [done.runId]: done,
        [LIVE]: irisRun(LIVE, "running", { prep: { status: "running" } }),
        [SLOW]: irisRun(SLOW, "running", { prep: { status: "running", logTail: "epoch 1" } }),
        "run-new-1": irisRun("run-new-1", "queued", {}),
      },
      events: {
        [LIVE]: [
          irisRun(LIVE, "running", { prep: { status: "completed", durationMs: 1500, logTail: "prep line 200" }, train: { status: "running" } }),
          irisRun(LIVE, "completed", { prep: { status: "completed", durationMs: 1500, logTail: "prep line 200" }, train: { status: "completed" }, profile: { status: "reused" }, evaluate: { status: "completed" } }),
        ],
        [SLOW]: [irisRun(SLOW, "failed", { prep: { status: "canceled", error: "canceled by the test" } })],
      },
      logs: { [`${LIVE}/prep`]: FULL_LOG, [`${SLOW}/prep`]: slowLog },
      eventGaps: { [SLOW]: 60_000 },
      eventGapMs: 1500,
      submittedRunId: "run-new-1",
    });
    workbench = await startWorkbench({ api: { url: api.url, token: api.token } });
    browser = await openBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await workbench?.stop();
    await api?.close();
  });

  it("lists runs, pipelines and endpoints, and never hands the server token to the page", async () => {
    const { page } = browser;
    onTestFailed(async () => void (await page.screenshot({ path: path.join(ARTIFACTS, "panel-FAILED.png") })));
    await page.goto(workbench.url());
    await page.locator('.jp-SideBar [data-id="pipebook-runs-panel"]').click({ timeout: 30_000 });
    const panel = page.locator("#pipebook-runs-panel");
    await expect.poll(() => panel.locator(".pb-Panel-item").count(), { timeout: 15_000 }).toBe(6);
    expect(await panel.locator("section").nth(0).textContent()).toContain("run-live");
    expect(await panel.locator("section").nth(1).textContent()).toContain("Iris_Pipeline v1.0");
    expect(await panel.locator("section").nth(2).textContent()).toContain("IrisEndpoint (default 0)");
    // Paths and queries reach the server as the panel wrote them (no cache busters added).
    expect(api.requests.map((r) => r.url)).toEqual(expect.arrayContaining(["/runs?limit=20", "/pipelines", "/endpoints"]));
    expect(api.requests.every((r) => r.authorization === `Bearer ${api.token}`)).toBe(true);
    expect(await page.content()).not.toContain(api.token);
    // The proxy is a Jupyter API: without the Jupyter token it refuses.
    expect((await fetch(`${workbench.baseUrl}pipebook/api/runs`)).status).toBe(403);
  });

  it("opens a run, follows it live over the event stream, and shows the full log", async () => {
    const { page } = browser;
    onTestFailed(async () => void (await page.screenshot({ path: path.join(ARTIFACTS, "panel-FAILED.png") })));
    const panel = page.locator("#pipebook-runs-panel");
    await panel.locator(`[data-run-id="${LIVE}"] .pb-Panel-link`).click();
    const header = panel.locator(".pb-RunHeader-status");
    await expect.poll(() => header.textContent(), { timeout: 10_000 }).toBe("running");
    await expect.poll(() => header.textContent(), { timeout: 15_000 }).toBe("completed");
    expect(await panel.locator('.pb-node[data-step="profile"]').getAttribute("data-status")).toBe("reused");
    await panel.locator('.pb-node[data-step="prep"]').click();
    const log = panel.locator(".pb-Log");
    await expect.poll(() => log.textContent(), { timeout: 10_000 }).toContain("prep line 1\nprep line 2\n");
    expect(await panel.locator(".pb-Details .pb-Muted").last().textContent()).toBe("Full log from the pipebook server.");
    await page.screenshot({ path: path.join(ARTIFACTS, "panel-live-run.png") });
  });

  it("keeps reading a running step's log while it is open, with no new run view", async () => {
    const { page } = browser;
    onTestFailed(async () => void (await page.screenshot({ path: path.join(ARTIFACTS, "panel-FAILED.png") })));
    const panel = page.locator("#pipebook-runs-panel");
    await panel.locator(`[data-run-id="${SLOW}"] .pb-Panel-link`).click();
    await expect.poll(() => panel.locator(".pb-RunHeader-title").getAttribute("title"), { timeout: 10_000 }).toBe(SLOW);
    // The selection carries over from the run opened before (same step name): open prep's
    // details unless they already are (a second click would close them).
    const details = panel.locator(".pb-Details");
    if (!(await details.isVisible()) || (await details.getAttribute("data-step")) !== "prep") {
      await panel.locator('.pb-node[data-step="prep"]').click();
    }
    await expect.poll(() => details.isVisible(), { timeout: 10_000 }).toBe(true);
    const log = panel.locator(".pb-Log");
    await expect.poll(() => log.textContent(), { timeout: 10_000 }).toContain("epoch 1");
    const first = (await log.textContent()) ?? "";
    // The run's view does not change (its event stream is silent), yet the log grows.
    await expect
      .poll(async () => ((await log.textContent()) ?? "").split("\n").length, { timeout: 10_000, message: JSON.stringify(api.requests.filter((r) => r.url.includes(SLOW)).map((r) => r.url)) })
      .toBeGreaterThan(first.split("\n").length + 2);
    expect(await panel.locator('.pb-node[data-step="prep"]').getAttribute("data-status")).toBe("running");
  });

  it("submits a published pipeline and opens the new run", async () => {
    const { page } = browser;
    const panel = page.locator("#pipebook-runs-panel");
    await panel.locator("section").nth(1).locator(".pb-Panel-link").click();
    await expect.poll(() => panel.locator(".pb-RunHeader-title").textContent(), { timeout: 10_000 }).toBe("Run run-new-1");
    const post = api.requests.find((r) => r.method === "POST" && r.url === "/pipelines/pl-1/runs");
    expect(post, JSON.stringify(api.requests.filter((r) => r.method === "POST"))).toBeDefined();
    expect(JSON.parse(post?.body ?? "{}")).toEqual({ ExperimentName: "workbench", ParameterAssignments: {} });
  });
});
