import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
// The launcher is plain ESM JavaScript (launch.d.mts types it), shared with `npm start`.
import { launchWorkbench } from "../../../jupyterlab-ext/app/launch.mjs";
import { ensureBuilt } from "../../../jupyterlab-ext/app/build.mjs";

export interface RunningWorkbench {
  readonly rootDir: string;
  readonly runtimeDir: string;
  readonly baseUrl: string;
  readonly token: string;
  readonly apiUrl?: string;
  readonly log: string[];
  /** `lab/tree/<file>` with the token, ready for page.goto. */
  url(file?: string): string;
  stop(): Promise<void>;
}

/** Builds the lab if needed and starts a real workbench on a free port in a fresh folder. */
export async function startWorkbench(options: { serve?: boolean; rootDir?: string; port?: number; api?: { url: string; token: string } } = {}): Promise<RunningWorkbench> {
  await ensureBuilt();
  const temp = mkdtempSync(path.join(tmpdir(), "pipebook-workbench-"));
  const rootDir = options.rootDir ?? path.join(temp, "root");
  const runtimeDir = path.join(temp, "runtime");
  mkdirSync(rootDir, { recursive: true });
  const log: string[] = [];
  const running = await launchWorkbench({
    rootDir, runtimeDir, serve: options.serve ?? false, log: (line: string) => log.push(line),
    ...(options.api === undefined ? {} : { api: options.api }),
    ...(options.port === undefined ? {} : { port: options.port }),
  });
  return {
    rootDir,
    runtimeDir,
    baseUrl: running.baseUrl,
    token: running.token,
    apiUrl: running.apiUrl,
    log,
    url: (file?: string) => `${running.baseUrl}lab${file ? `/tree/${file}` : ""}?token=${running.token}`,
    async stop() {
      await running.stop();
      rmSync(temp, { recursive: true, force: true });
    },
  };
}
