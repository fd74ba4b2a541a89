import { parentPort } from "node:worker_threads";
import { hashFile } from "./hashFile.js";

/** Worker side of HashPool: hashes one file per message, replies {id, digest} or {id, error}. */
const buffer = Buffer.allocUnsafe(1 << 20);
parentPort?.on("message", (msg: { id: number; path: string }) => {
  hashFile(msg.path, buffer).then(
    (digest) => parentPort?.postMessage({ id: msg.id, digest }),
    (err: unknown) => parentPort?.postMessage({ id: msg.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
