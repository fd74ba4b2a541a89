import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BlobStore } from "../../engine/dist/artifacts/BlobStore.js";
import { markUsed, trimCache } from "../../engine/dist/agents/trimCache.js";
import { parseSize } from "../../engine/dist/cli/agentActions.js";
import { asDigest } from "../../engine/dist/fingerprint/digest.js";

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A blob of `size` bytes whose last use was `ageS` seconds ago. */
function blob(cache: BlobStore, n: number, size: number, ageS: number): string {
  const digest = n.toString(16).padStart(64, "0");
  const path = cache.pathOf(asDigest(digest));
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, Buffer.alloc(size));
  const at = new Date(Date.now() - ageS * 1000);
  utimesSync(path, at, at);
  return digest;
}

describe("the agent's blob cache limit", () => {
  it("removes the blobs used longest ago until the rest fit, never one a running job names, nor a partial download", () => {
    dir = mkdtempSync(join(tmpdir(), "pipebook-cache-"));
    const cache = new BlobStore(dir);
    const oldest = blob(cache, 1, 1000, 400);
    const pinned = blob(cache, 2, 1000, 300);
    const older = blob(cache, 3, 1000, 200);
    const recent = blob(cache, 4, 1000, 100);
    const used = blob(cache, 5, 1000, 500);
    markUsed(cache, asDigest(used)); // the oldest by its write, the newest by its use
    const part = `${cache.pathOf(asDigest(recent))}.part`;
    writeFileSync(part, Buffer.alloc(5000));

    expect(trimCache(cache, 10_000, new Set())).toEqual({ removed: 0, freedBytes: 0, heldBytes: 5000 });
    expect(trimCache(cache, 2500, new Set([pinned]))).toEqual({ removed: 3, freedBytes: 3000, heldBytes: 2000 });
    const left = [oldest, pinned, older, recent, used].filter((d) => existsSync(cache.pathOf(asDigest(d))));
    expect(left).toEqual([pinned, used]);
    expect(existsSync(part)).toBe(true);
    // What running jobs use stays even past the limit.
    expect(trimCache(cache, 0, new Set([pinned]))).toEqual({ removed: 1, freedBytes: 1000, heldBytes: 1000 });
  });

  it("reads --cache-limit in binary units", () => {
    dir = mkdtempSync(join(tmpdir(), "pipebook-cache-"));
    expect(parseSize("50GiB")).toBe(50 * 2 ** 30);
    expect(parseSize("500 MiB")).toBe(500 * 2 ** 20);
    expect(parseSize("1.5g")).toBe(1.5 * 2 ** 30);
    expect(parseSize("2T")).toBe(2 * 2 ** 40);
    expect(parseSize("4096")).toBe(4096);
    expect(parseSize("12kb")).toBe(12 * 1024);
    for (const bad of ["lots", "", "-1G", "1 PB", "5 GiBs"]) expect(parseSize(bad)).toBeUndefined();
  });
});
