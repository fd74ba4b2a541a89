import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { open } from "node:fs/promises";
import type { Digest } from "./digest.js";

const CHUNK = 1 << 20;

/**
 * Streams a file through SHA-256 with one reused 1 MiB buffer: no per-chunk allocation,
 * so throughput stays at what OpenSSL gives on one core.
 */
export async function hashFile(path: string, buffer: Buffer = Buffer.allocUnsafe(CHUNK)): Promise<Digest> {
  const hash = createHash("sha256");
  const handle = await open(path, "r");
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return hash.digest("hex") as Digest;
}

/**
 * The same with blocking reads, for hash worker threads: a worker has nothing else to do, and
 * blocking reads skip the hop through libuv's thread pool that async reads pay per chunk.
 */
export function hashFileSync(path: string, buffer: Buffer = Buffer.allocUnsafe(CHUNK)): Digest {
  const hash = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(n === buffer.length ? buffer : buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex") as Digest;
}
