import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

/** Debian's Chromium with the flags from ENVIRONMENT.md; playwright never downloads a browser here. */
export const CHROMIUM = process.env.PIPEBOOK_CHROMIUM ?? "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export interface BrowserSession {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors of the page, to assert that the workbench logs none of its own. */
  readonly consoleErrors: string[];
  close(): Promise<void>;
}

export async function openBrowser(): Promise<BrowserSession> {
  const profile = mkdtempSync(path.join(tmpdir(), "pipebook-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(String(error)));
  return {
    context,
    page,
    consoleErrors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Where screenshots go; CI keeps the folder as an artifact, people look at them. */
export const ARTIFACTS = path.resolve(import.meta.dirname, "..", "..", "..", "test-artifacts", "workbench");

/**
 * Waits until the open notebook's kernel is connected and idle, as the status bar shows it
 * ("TypeScript (pipebook) | Idle"). The server's /api/kernels `execution_state` is not used:
 * for the pipebook kernel jupyter-server 1.23 can keep reporting "starting" after the kernel is
 * up (its activity monitor misses the first status messages).
 */
export async function waitForKernelIdle(page: Page, displayName: string, timeoutMs = 60_000): Promise<void> {
  await page.waitForFunction(
    (name) => [...document.querySelectorAll(".jp-StatusBar-Widget, .jp-StatusBar-TextItem")].some((el) => (el.textContent ?? "").replace(/\s+/g, " ").includes(`${name} | Idle`)),
    displayName,
    { timeout: timeoutMs, polling: 200 },
  );
}

/** A "#rrggbb" colour as getComputedStyle writes it: "#d32f2f" → "rgb(211, 47, 47)". */
export function cssRgb(hex: string): string {
  return `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(", ")})`;
}
