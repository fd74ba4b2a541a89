import { resolve } from "node:path";
import type { DownloadOutputsOptions, DownloadReport } from "../artifacts/outputDownload.js";
import { projectServer } from "../remote/projectServer.js";
import { bytes } from "./format.js";

export interface DownloadOptions {
  readonly output?: string;
  readonly out?: string;
}

/** Files at least this big get a progress line on stderr while they arrive. */
const PROGRESS_FROM_BYTES = 8 * 2 ** 20;

/**
 * `pipebook download RUN [STEP] [--output NAME] [--out DIR]`: a run's outputs to
 * `DIR/<step>/<output>/…` (DIR defaults to the run's id), from the local workspace or, for a
 * project that submits to a server, over the server's blob routes. Files already there with the
 * same content are not fetched again.
 */
export async function downloadCommand(id: string, step: string | undefined, options: DownloadOptions): Promise<void> {
  const server = await projectServer();
  let runId: string;
  let download: (dest: string, o: DownloadOutputsOptions) => Promise<DownloadReport>;
  if (server) {
    const { findRemoteRun } = await import("./remoteCommands.js");
    const { downloadRemoteOutputs } = await import("../remote/downloadRemoteOutputs.js");
    runId = (await findRemoteRun(server, id)).runId;
    download = (dest, o) => downloadRemoteOutputs(server, runId, dest, o);
  } else {
    const [{ openRunHistory }, { findRun }, { downloadRunOutputs }] = await Promise.all([
      import("../workspace/openRunHistory.js"),
      import("./findRun.js"),
      import("../runner/downloadRunOutputs.js"),
    ]);
    const ws = await openRunHistory();
    runId = await findRun(ws, id);
    download = (dest, o) => downloadRunOutputs(ws, runId, dest, o);
  }
  const dest = resolve(options.out ?? runId);
  let shown = "";
  const report = await download(dest, {
    ...(step !== undefined && { step }),
    ...(options.output !== undefined && { output: options.output }),
    onProgress: (p) => {
      if (p.total < PROGRESS_FROM_BYTES) return;
      const line = `${p.step}/${p.output}${p.path ? `/${p.path}` : ""}: ${Math.floor((100 * p.done) / p.total)}% of ${bytes(p.total)}`;
      if (line === shown) return;
      shown = line;
      process.stderr.write(`\r${line}${p.done === p.total ? "\n" : ""}`);
    },
  });
  const kept = report.files - report.fetched;
  process.stdout.write(`${report.outputs.map((o) => `${o.step}/${o.output}: ${o.files} file${o.files === 1 ? "" : "s"}`).join("\n")}\n`);
  process.stdout.write(`downloaded ${report.fetched} of ${report.files} files (${bytes(report.bytes)}) to ${report.dest}${kept > 0 ? `; ${kept} already there` : ""}\n`);
}
