import { mkdtempSync, rmSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandStep, Pipeline, PipelineData, PipelineEndpoint, PublishedPipeline, Schedule } from "pipebook";
import { buildPage } from "../../engine/scripts/buildPage.mjs";
import { REPO } from "../engine/helpers.js";
import { serverSandbox, type ServerSandbox } from "./helpers.js";

const ARTIFACTS = join(REPO, "test-artifacts", "server");
/** Debian's Chromium with the flags from ENVIRONMENT.md; playwright never downloads a browser here. */
const CHROMIUM = process.env["PIPEBOOK_CHROMIUM"] ?? "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

let s: ServerSandbox;
let context: BrowserContext;
let page: Page;
let profile: string;
let gate: string;
let gated: PublishedPipeline;
const consoleErrors: string[] = [];

beforeAll(async () => {
  // The page is TypeScript bundled by esbuild; `npm test` builds it too, this covers a lone run.
  await buildPage();
  s = await serverSandbox();
  gate = join(s.sb.dir, "gate");
  await PipelineEndpoint.publish(s.sb.ws, { name: "TrainerEndpoint", pipeline: s.published, description: "what clients call" });
  await Schedule.create(s.sb.ws, { name: "nightly", target: { kind: "endpoint", name: "TrainerEndpoint" }, experiment: "nightly", trigger: { kind: "cron", cron: "0 3 * * *" } });
  const prepared = new PipelineData("prepared");
  const prep = new CommandStep({ name: "prepare", outputs: [prepared], command: 'echo preparing > "$PIPEBOOK_OUTPUT_PREPARED/data.txt"' });
  const slow = new CommandStep({ name: "slow_step", inputs: [prepared], allowReuse: false, command: `echo waiting; while [ ! -f ${gate} ]; do sleep 0.05; done; echo released` });
  gated = await PublishedPipeline.publish(
    new Pipeline(s.sb.ws, { steps: [prep, slow] }),
    { name: "Gated", version: "1" },
  );
  profile = mkdtempSync(join(tmpdir(), "pipebook-chromium-"));
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1400, height: 950 } });
  page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(e.message));
  await mkdir(ARTIFACTS, { recursive: true });
});
afterAll(async () => {
  await writeFile(gate, "").catch(() => undefined);
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  await s?.close();
});

describe("the studio web page", () => {
  it("asks for a token, then lists pipelines, endpoints with versions, and runs", async () => {
    await page.goto(`${s.url}/`);
    await expect.poll(() => page.textContent("#message"), { timeout: 20_000 }).toContain("Enter an API token");
    await page.fill("#token", s.tokens.read);
    await page.click("#token-form button");
    await page.waitForSelector("#pipelines tbody tr >> text=Trainer");
    expect(await page.textContent("#pipelines tbody")).toContain("lr=0.01 mode=\"fast\"");
    expect(await page.textContent("#endpoints tbody")).toContain("TrainerEndpoint");
    expect(await page.textContent("#endpoints tbody")).toContain("0*→");
    expect(await page.textContent("#runs tbody")).toContain(s.firstRunId);
    expect(await page.textContent("#schedules tbody")).toContain("cron 0 3 * * *");
    expect(await page.textContent("#workspace")).toContain("scheduler active");
  });

  it("keeps a reply's code and reason wherever it shows a failure, not only in the submit dialog", async () => {
    // The run list refused with an expected failure (a reply the server would make for a store it cannot read).
    const reply = { error: "no run list today", code: "not-found", reason: "run-unknown" };
    await page.route("**/runs?limit=30", (route) => route.fulfill({ status: 404, contentType: "application/json", body: JSON.stringify(reply) }));
    try {
      await page.goto(`${s.url}/#token=${s.tokens.read}`);
      await expect.poll(() => page.getAttribute("#message", "data-code"), { timeout: 20_000 }).toBe("not-found");
      expect(await page.getAttribute("#message", "data-reason")).toBe("run-unknown");
      expect(await page.textContent("#message")).toBe("no run list today");
    } finally {
      await page.unroute("**/runs?limit=30");
    }
    // The page's own sentence afterwards carries none.
    await page.reload();
    await expect.poll(() => page.textContent("#message"), { timeout: 20_000 }).toContain("recent run(s)");
    expect(await page.getAttribute("#message", "data-code")).toBeNull();
  });

  it("refuses a submission the token may not make, and shows the server's sentence", async () => {
    await page.click("#pipelines tbody tr:has-text('Trainer') button");
    await page.click("#submit-ok");
    await expect.poll(() => page.textContent("#submit-error"), { timeout: 20_000 }).toBe('this token does not have the "runs:submit" scope');
    // A refusal that is no expected failure of the engine carries no code or reason.
    expect(await page.getAttribute("#submit-error", "data-reason")).toBeNull();
    await page.click("#submit-cancel");
  });

  it("submits a run with parameters, shows bad parameters as the server words them, and draws the finished run", async () => {
    await page.goto(`${s.url}/#token=${s.tokens.admin}`);
    await page.waitForSelector("#pipelines tbody tr >> text=Trainer");
    await page.click("#pipelines tbody tr:has-text('Trainer') button");
    await page.fill("#submit-params", '{"lr": "fast"}');
    await page.click("#submit-ok");
    await expect.poll(() => page.textContent("#submit-error"), { timeout: 20_000 }).toContain('parameter "lr" must be a number');
    // The page keeps the reply's code and reason (its ApiError), not only the sentence.
    expect(await page.getAttribute("#submit-error", "data-code")).toBe("parameter-invalid");
    expect(await page.getAttribute("#submit-error", "data-reason")).toBe("parameters-invalid");
    await page.fill("#submit-experiment", "from_the_page");
    await page.fill("#submit-params", '{"lr": 0.33, "mode": "browser"}');
    await page.click("#submit-ok");
    await page.waitForSelector("#graph g[data-step='evaluate'][data-status='completed']", { timeout: 30_000 });
    expect(await page.getAttribute("#graph g[data-step='train']", "data-status")).toBe("completed");
    expect(await page.textContent("#run-meta")).toContain('lr=0.33 mode="browser"');
    expect(await page.textContent("#steps")).toContain("lr: 0.33");
    expect(await page.textContent("#steps")).toContain("evaluated lr=0.33 mode=browser");
    const runId = (await page.textContent("#run-id"))!;
    expect(s.sb.ws.runs.getRun(runId)?.experiment).toBe("from_the_page");
    // The runs of one endpoint, with the version each used (the seeds' studio view).
    const viaEndpoint = await s.call("POST", "/endpoints/TrainerEndpoint/runs", { body: { ExperimentName: "through_endpoint" } });
    await page.click("#endpoints tbody a.runs-of");
    await expect.poll(() => page.textContent("#runs-title"), { timeout: 20_000 }).toBe("Runs of endpoint TrainerEndpoint");
    expect(await page.locator("#runs tbody tr").count()).toBe(1);
    expect(await page.textContent("#runs tbody")).toContain((viaEndpoint.body as { Id: string }).Id);
    expect(await page.textContent("#runs tbody")).toContain("api · v0");
    await page.click("#all-runs");
    await expect.poll(() => page.textContent("#runs-title"), { timeout: 20_000 }).toBe("Runs");
  });

  it("follows a running run live until it completes", async () => {
    const r = await s.call("POST", `/pipelines/${gated.id}/runs`, { body: { ExperimentName: "live" } });
    const runId = (r.body as { Id: string }).Id;
    await page.click("#refresh");
    await page.click(`#runs tbody tr[data-run='${runId}']`);
    await page.waitForSelector("#graph g[data-step='slow_step'][data-status='running']", { timeout: 30_000 });
    expect(await page.textContent("#run-status")).toBe("running");
    await page.screenshot({ path: join(ARTIFACTS, "studio-running.png") });
    await writeFile(gate, "");
    // No reload: the WebSocket brings the new status.
    await page.waitForSelector("#graph g[data-step='slow_step'][data-status='completed']", { timeout: 30_000 });
    await expect.poll(() => page.textContent("#run-status"), { timeout: 20_000 }).toBe("completed");
    await page.click("#steps .step:has-text('slow_step') button");
    await expect.poll(() => page.textContent("#steps .step:has-text('slow_step') pre"), { timeout: 20_000 }).toContain("released");
    await page.screenshot({ path: join(ARTIFACTS, "studio.png"), fullPage: true });
    // The 404, 403 and 400 the tests above provoked on purpose; nothing else (no CSP violation, no script error).
    expect(consoleErrors.filter((e) => !/status of (404|403|400)\b/.test(e))).toEqual([]);
  });
});
