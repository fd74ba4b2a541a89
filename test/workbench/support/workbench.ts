import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
// The launcher is plain ESM JavaScript (launch.d.mts types it), shared with `npm start`.
import { launchWorkbench } from "../../../jupyterlab-ext/app/launch.mjs";
import { buildWorkbench, isBuildCurrent } from "../../../jupyterlab-ext/app/build.mjs";

export interface RunningWorkbench {
  readonly rootDir: string;
  readonly runtimeDir: string;
  readonly baseUrl: string;
  readonly token: string;
  readonly apiUrl?: string;
  readonly log: string[];
  /** `lab/tree/<file>` with the token, ready for page.goto. */
  url(file?: string): string;
  /** Resolves once a kernel of this name runs and is idle (started by the page opening a notebook). */
  kernelIdle(name: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Builds the lab if needed and starts a real workbench on a free port in a fresh folder. */
export async function startWorkbench(options: { serve?: boolean; rootDir?: string; api?: { url: string; token: string } } = {}): Promise<RunningWorkbench> {
  if (!isBuildCurrent()) {
    await buildWorkbench();
  }
  const temp = mkdtempSync(path.join(tmpdir(), "pipebook-workbench-"));
  const rootDir = options.rootDir ?? path.join(temp, "root");
  const runtimeDir = path.join(temp, "runtime");
  mkdirSync(rootDir, { recursive: true });
  const log: string[] = [];
  const running = await launchWorkbench({
    rootDir, runtimeDir, serve: options.serve ?? false, log: (line: string) => log.push(line),
    ...(options.api === undefined ? {} : { api: options.api }),
  });
  return {
    rootDir,
    runtimeDir,
    baseUrl: running.baseUrl,
    token: running.token,
    apiUrl: running.apiUrl,
    log,
    url: (file?: string) => `${running.baseUrl}lab${file ? `/tree/${file}` : ""}?token=${running.token}`,
    async kernelIdle(name: string, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const reply = await fetch(`${running.baseUrl}api/kernels`, { headers: { Authorization: `token ${running.token}` } });
        // Under load the server may answer an error body for a moment: keep asking.
        const kernels = (await reply.json().catch(() => undefined)) as unknown;
        if (reply.ok && Array.isArray(kernels) && kernels.some((k: { name?: string; execution_state?: string }) => k.name === name && k.execution_state === "idle")) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`no idle ${name} kernel after ${timeoutMs} ms; server log:\n${log.join("").slice(-3000)}`);
    },
    async stop() {
      await running.stop();
      rmSync(temp, { recursive: true, force: true });
    },
  };
}
