import { parentPort } from "node:worker_threads";
import { hashFileSync } from "./hashFile.js";

/** Worker side of HashPool: hashes one file per message, replies {id, digest} or {id, error}. */
const buffer = Buffer.allocUnsafe(4 << 20);
parentPort?.on("message", (msg: { id: number; path: string }) => {
  try {
    parentPort?.postMessage({ id: msg.id, digest: hashFileSync(msg.path, buffer) });
  } catch (err) {
    parentPort?.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
  }
});
