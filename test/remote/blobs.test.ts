import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiTokens } from "pipebook";
import { startServer, type RunningServer } from "pipebook/server";
import { collectGarbage } from "../../engine/dist/artifacts/collectGarbage.js";
import { BlobClient } from "../../engine/dist/blobs/BlobClient.js";
import { BlobTransferError } from "../../engine/dist/blobs/BlobTransferError.js";
import type { Digest } from "../../engine/dist/fingerprint/digest.js";
import { sandbox, type Sandbox } from "../engine/helpers.js";
import { droppingProxy } from "./proxy.js";

const MiB = 1024 * 1024;
const digestOf = (data: Buffer): Digest => createHash("sha256").update(data).digest("hex") as Digest;

describe("content-addressed blob transfers (/blobs, BlobClient)", () => {
  let sb: Sandbox;
  let server: RunningServer;
  let tokens: { submit: string; read: string; admin: string };

  beforeAll(async () => {
    sb = await sandbox();
    const t = new ApiTokens(sb.ws);
    tokens = { submit: t.create("submitter", ["runs:submit"]).token, read: t.create("reader", ["read"]).token, admin: t.create("admin", ["admin"]).token };
    server = await startServer({ workspace: sb.ws, port: 0, log: () => undefined, schedules: false, maxBlobBytes: 64 * MiB });
  });
  afterAll(async () => {
    await server?.close();
    await sb?.close();
  });

  async function file(name: string, size: number): Promise<{ path: string; data: Buffer; digest: Digest }> {
    const data = randomBytes(size);
    const path = join(sb.dir, name);
    await writeFile(path, data);
    return { path, data, digest: digestOf(data) };
  }

  it("resumes an upload and a download after a dropped connection, and moves 0 bytes for a blob the server has", async () => {
    const blob = await file("big.bin", 6 * MiB);
    const client = new BlobClient(server.url, tokens.admin);
    expect(await client.missing([blob.digest])).toEqual([blob.digest]);

    const up = await droppingProxy(server.url, { direction: "up", bytes: 2 * MiB });
    try {
      const progress: number[] = [];
      const sent = await new BlobClient(up.url, tokens.submit, { retryDelayMs: 50 }).upload(blob.digest, blob.path, { onProgress: (p) => progress.push(p.done) });
      expect(up.cuts).toBe(1);
      expect(sent.attempts).toBeGreaterThan(1);
      // The retry started where the server's kept partial upload ended, not at 0.
      expect(sent.resumedFrom.at(-1)).toBeGreaterThan(MiB);
      expect(sent.bytes).toBeLessThan(blob.data.length + 3 * MiB);
      expect(progress.at(-1)).toBe(blob.data.length);
    } finally {
      await up.close();
    }
    expect(digestOf(await readFile(sb.ws.blobs.pathOf(blob.digest)))).toBe(blob.digest);
    expect(await client.missing([blob.digest])).toEqual([]);

    const again = await client.upload(blob.digest, blob.path);
    expect(again).toMatchObject({ bytes: 0, attempts: 1, resumedFrom: [] });

    const down = await droppingProxy(server.url, { direction: "down", bytes: 3 * MiB });
    try {
      const dest = join(sb.dir, "fetched", "big.bin");
      const got = await new BlobClient(down.url, tokens.read, { retryDelayMs: 50 }).download(blob.digest, dest);
      expect(down.cuts).toBe(1);
      expect(got.attempts).toBe(2);
      expect(got.resumedFrom[0]).toBeGreaterThan(MiB);
      expect(got.bytes).toBeLessThan(blob.data.length + MiB);
      expect(digestOf(await readFile(dest))).toBe(blob.digest);
    } finally {
      await down.close();
    }
  });

  it("keeps a partial upload aside, tells its offset on HEAD, never serves it, and resumes from it", async () => {
    const blob = await file("half.bin", MiB);
    const half = MiB / 2;
    // A client that sends half the blob and drops: the server keeps those bytes for a resume.
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${server.url}/blobs/${blob.digest}`, {
        method: "PUT",
        headers: { Authorization: `Bearer ${tokens.submit}`, "Content-Range": `bytes 0-${MiB - 1}/${MiB}`, "Content-Length": String(MiB) },
      });
      req.on("error", () => resolve());
      req.write(blob.data.subarray(0, half), () => {
        req.destroy();
        resolve();
      });
    });
    const offset = async () => {
      const head = await fetch(`${server.url}/blobs/${blob.digest}`, { method: "HEAD", headers: { Authorization: `Bearer ${tokens.submit}` } });
      expect(head.status).toBe(404);
      return Number(head.headers.get("upload-offset"));
    };
    // The server reads what reached it after the drop; wait for that, not for a time.
    for (let i = 0; i < 200 && (await offset()) < half; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await offset()).toBe(half);
    expect((await fetch(`${server.url}/blobs/${blob.digest}`, { headers: { Authorization: `Bearer ${tokens.read}` } })).status).toBe(404);
    expect(await new BlobClient(server.url, tokens.submit).missing([blob.digest])).toEqual([blob.digest]);

    // A PUT from a stale offset is told where to resume.
    const stale = await fetch(`${server.url}/blobs/${blob.digest}`, { method: "PUT", headers: { Authorization: `Bearer ${tokens.submit}`, "Content-Range": `bytes 0-${MiB - 1}/${MiB}` }, body: blob.data });
    expect(stale.status).toBe(409);
    expect(stale.headers.get("upload-offset")).toBe(String(half));

    const sent = await new BlobClient(server.url, tokens.submit).upload(blob.digest, blob.path);
    expect(sent).toMatchObject({ bytes: half, resumedFrom: [half], size: MiB });
    expect(digestOf(await readFile(sb.ws.blobs.pathOf(blob.digest)))).toBe(blob.digest);
  });

  it("pipebook gc removes a partial upload not resumed for a day, and keeps a recent one", async () => {
    const uploads = join(sb.ws.blobs.root, "uploads");
    await mkdir(uploads, { recursive: true });
    const [stale, fresh] = ["a", "b"].map((c) => c.repeat(64) as Digest);
    await writeFile(join(uploads, `${stale}.part`), "12345");
    await writeFile(join(uploads, `${fresh}.part`), "123");
    const offset = async (d: string) => (await fetch(`${server.url}/blobs/${d}`, { method: "HEAD", headers: { Authorization: `Bearer ${tokens.submit}` } })).headers.get("upload-offset");
    expect([await offset(stale), await offset(fresh)]).toEqual(["5", "3"]);
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    await utimes(join(uploads, `${stale}.part`), twoDaysAgo, twoDaysAgo);
    const removed = await collectGarbage(sb.ws, { dryRun: false });
    expect(removed.filter((i) => i.path.startsWith(uploads))).toEqual([{ path: join(uploads, `${stale}.part`), bytes: 5, why: "partial blob upload not resumed for a day" }]);
    expect([await offset(stale), await offset(fresh)]).toEqual(["0", "3"]);
    await rm(join(uploads, `${fresh}.part`));
  });

  it("refuses a corrupted upload: nothing becomes visible under the digest", async () => {
    const blob = await file("right.bin", 256 * 1024);
    const wrong = await file("wrong.bin", 256 * 1024);
    const raw = await fetch(`${server.url}/blobs/${blob.digest}`, { method: "PUT", headers: { Authorization: `Bearer ${tokens.submit}`, "Content-Type": "application/octet-stream" }, body: wrong.data });
    expect(raw.status).toBe(422);
    expect(((await raw.json()) as { error: string }).error).toBe(`the uploaded bytes (${wrong.data.length}) have sha256 ${wrong.digest}, not ${blob.digest}; nothing was stored`);
    const client = new BlobClient(server.url, tokens.submit);
    await expect(client.upload(blob.digest, wrong.path)).rejects.toThrow(`${wrong.path} is not blob ${blob.digest}`);
    expect(await client.missing([blob.digest, wrong.digest])).toEqual([blob.digest, wrong.digest]);
    const head = await fetch(`${server.url}/blobs/${blob.digest}`, { method: "HEAD", headers: { Authorization: `Bearer ${tokens.submit}` } });
    expect(head.status).toBe(404);
    expect(head.headers.get("upload-offset")).toBe("0");
  });

  it("verifies a download by its digest: bytes that are not the blob's never reach the destination", async () => {
    const blob = await file("stored.bin", 64 * 1024);
    await new BlobClient(server.url, tokens.submit).upload(blob.digest, blob.path);
    // Rot in the server's store (a disk fault): the client must notice, not the server.
    const stored = sb.ws.blobs.pathOf(blob.digest);
    await writeFile(stored, randomBytes(blob.data.length));
    const dest = join(sb.dir, "rotten.bin");
    const failure = await new BlobClient(server.url, tokens.read).download(blob.digest, dest).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(BlobTransferError);
    expect((failure as BlobTransferError).failure.reason).toBe("digest-mismatch");
    // The failure is data worded by one describer: the digest, the bytes received, their sha256.
    expect(failure).toMatchObject({ name: "BlobTransferError", code: "source-invalid", failure: { digest: blob.digest, bytes: blob.data.length } });
    expect((failure as BlobTransferError).message).toBe(`the bytes received for blob ${blob.digest} (${blob.data.length}) have sha256 ${(failure as BlobTransferError & { failure: { actual: string } }).failure.actual}; nothing was kept`);
    await expect(stat(dest)).rejects.toThrow(/ENOENT/);
  });

  it("answers bad requests with one sentence: digest format, size bound, scopes, no token", async () => {
    const call = (method: string, path: string, token: string | null, body?: BodyInit, headers: Record<string, string> = {}) =>
      fetch(`${server.url}${path}`, { method, headers: { ...headers, ...(token !== null && { Authorization: `Bearer ${token}` }) }, ...(body !== undefined && { body }) });
    const error = async (r: Response) => ({ status: r.status, error: ((await r.json()) as { error: string }).error });

    expect(await error(await call("GET", "/blobs/NOTHEX", tokens.read))).toEqual({ status: 400, error: '"NOTHEX" is not a blob digest: expected 64 lowercase hex characters (sha256)' });
    expect(await error(await call("POST", "/blobs/missing", tokens.submit, JSON.stringify({ digests: ["abc"] }), { "Content-Type": "application/json" }))).toMatchObject({ status: 400 });
    const d = "0".repeat(64);
    expect(await error(await call("PUT", `/blobs/${d}`, tokens.submit, "x", { "Content-Range": `bytes 0-${65 * MiB - 1}/${65 * MiB}`, "Content-Length": "1" }))).toMatchObject({ status: 400 });
    expect(await error(await call("PUT", `/blobs/${d}`, tokens.submit, "x", { "Content-Range": `bytes ${65 * MiB - 1}-${65 * MiB - 1}/${65 * MiB}` }))).toEqual({ status: 413, error: `a blob of ${65 * MiB} bytes is over this server's limit of ${64 * MiB} bytes` });
    expect(await error(await call("PUT", `/blobs/${d}`, tokens.read, "x"))).toEqual({ status: 403, error: 'this token does not have the "runs:submit" or "agent" scope' });
    expect(await error(await call("GET", `/blobs/${d}`, tokens.submit))).toEqual({ status: 403, error: 'this token does not have the "read" or "agent" scope' });
    expect((await call("GET", `/blobs/${d}`, null)).status).toBe(401);
    await expect(new BlobClient(server.url, "not-a-token").missing([d as Digest])).rejects.toThrow(/refused the token/);
  });
});
