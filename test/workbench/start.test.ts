import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
// The user's entry point is spawned as a process, exactly as `npm start` / `pipebook lab` do.
import { freePort } from "../../jupyterlab-ext/app/launch.mjs";

const START = path.resolve(import.meta.dirname, "..", "..", "jupyterlab-ext", "app", "start.mjs");

describe("start.mjs (npm start's workbench)", () => {
  const root = mkdtempSync(path.join(tmpdir(), "pipebook-start-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("prints a tokened URL on 127.0.0.1 that opens examples/, and stops everything on SIGINT", async () => {
    mkdirSync(path.join(root, "examples"));
    const port = await freePort();
    const child = spawn(process.execPath, [START, "--port", String(port), "--root", root], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL after 90 s:\n${out}`)), 90_000);
      const check = () => {
        const match = /Open: (\S+)/.exec(out);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout.on("data", check);
      child.once("exit", (code) => reject(new Error(`start.mjs exited with ${code}:\n${out}`)));
    });
    expect(url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port}/lab/tree/examples\\?token=[0-9a-f]{48}$`));
    const serveUrl = /pipebook serve at (\S+)\)/.exec(out)?.[1];
    expect(serveUrl, out).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect((await fetch(`${serveUrl}health`)).status).toBe(200);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("jupyter-config-data");
    // Without the token the API refuses.
    expect((await fetch(`http://127.0.0.1:${port}/api/contents`)).status).toBe(403);

    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    // Both servers are gone: nothing answers on their ports any more.
    await expect(fetch(`http://127.0.0.1:${port}/api/status`)).rejects.toThrow();
    await expect(fetch(`${serveUrl}health`)).rejects.toThrow();
  }, 120_000);
});
