import { fetchMissing, outputFileDest, selectOutputs, type DownloadOutputsOptions, type DownloadReport } from "../artifacts/outputDownload.js";
import type { RunView } from "../contract/runView.js";
import type { Digest } from "../fingerprint/digest.js";
import type { RemoteServer } from "./RemoteServer.js";

/**
 * Downloads a server's run's outputs to `dest/<step>/<output>/…`: the server lists each output's
 * files with their SHA-256 (`GET …/outputs/{name}/files`) and only those not already here with the
 * same content are fetched, through its blob routes (checked by digest, resumed after a dropped
 * connection from the bytes already here in `<file>.<digest16>.part`).
 */
export async function downloadRemoteOutputs(server: RemoteServer, runId: string, dest: string, options: DownloadOutputsOptions = {}): Promise<DownloadReport> {
  const run = `/runs/${encodeURIComponent(runId)}`;
  const view = (await server.json("RunView", "GET", run)) as unknown as RunView;
  const pairs = selectOutputs(view.runId, view.steps.map((s) => ({ name: s.name, status: s.status, outputs: s.outputViews.map((o) => o.name) })), options);
  const outputs: { step: string; output: string; files: number }[] = [];
  let fetched = 0;
  let bytes = 0;
  for (const { step, output } of pairs) {
    const listing = await server.json("OutputFiles", "GET", `${run}/steps/${encodeURIComponent(step)}/outputs/${encodeURIComponent(output)}/files`);
    const moved = await fetchMissing(listing.files, (p) => outputFileDest(dest, step, output, p), async (f, to) => {
      const progress = options.onProgress;
      const got = await server.blobs
        .download(f.digest as Digest, to, progress ? { onProgress: (p) => progress({ step, output, path: f.path, done: p.done, total: p.total }) } : {})
        .catch((err: unknown) => {
          throw server.transferError(err, `downloading output "${output}" of step "${step}"`);
        });
      return got.bytes;
    });
    outputs.push({ step, output, files: listing.files.length });
    fetched += moved.fetched;
    bytes += moved.bytes;
  }
  return { dest, outputs, files: outputs.reduce((n, o) => n + o.files, 0), fetched, bytes };
}
