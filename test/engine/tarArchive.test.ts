import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ArtifactError } from "../../engine/src/artifacts/ArtifactFailure.js";
import { tarArchive } from "../../engine/src/artifacts/tarArchive.js";

let dir: string;
beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), "pipebook-tar-"))));
afterEach(async () => rm(dir, { recursive: true, force: true }));

const drain = async (stream: NodeJS.ReadableStream): Promise<number> => {
  let bytes = 0;
  for await (const chunk of stream) bytes += (chunk as Buffer).length;
  return bytes;
};

describe("tarArchive", () => {
  it("streams whole 512-byte blocks for files of the sizes they were recorded with", async () => {
    await writeFile(join(dir, "a.py"), "print(1)\n");
    const bytes = await drain(tarArchive([{ path: "src/a.py", size: 9, source: join(dir, "a.py") }], new Date(0)));
    // One header, one block of content, two closing blocks.
    expect(bytes).toBe(4 * 512);
  });

  it("stops with an error naming the file when a file holds other bytes than its entry says", async () => {
    await writeFile(join(dir, "b.csv"), "x,y\n1,2\n");
    const failure = await drain(tarArchive([{ path: "data/b.csv", size: 5, source: join(dir, "b.csv") }], new Date(0))).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(ArtifactError);
    expect((failure as ArtifactError).failure).toEqual({ reason: "archive-file-changed", path: "data/b.csv", expected: 5, actual: 8 });
    expect((failure as ArtifactError).message).toContain("data/b.csv held 8 bytes where 5 were recorded");
  });
});
