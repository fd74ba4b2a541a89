import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { installKernelSpec } from "../../kernel/src/install.js";

function pngSize(b: Buffer): { w: number; h: number } {
  expect(b.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(b.subarray(12, 16).toString()).toBe("IHDR");
  return { w: b.readUInt32BE(16), h: b.readUInt32BE(20) };
}

describe("kernelspec install", () => {
  it("writes a kernelspec that `jupyter kernelspec list` shows, with real logos", async () => {
    const prefix = mkdtempSync(join(tmpdir(), "pipebook-install-"));
    try {
      const { path } = await installKernelSpec({ prefix });
      expect(path).toBe(join(prefix, "share", "jupyter", "kernels", "pipebook"));
      const spec = JSON.parse(readFileSync(join(path, "kernel.json"), "utf8")) as { argv: string[]; display_name: string; language: string; interrupt_mode: string };
      expect(spec.display_name).toBe("TypeScript (pipebook)");
      expect(spec.language).toBe("typescript");
      expect(spec.interrupt_mode).toBe("message");
      expect(spec.argv[0]).toBe(process.execPath);
      expect(spec.argv.slice(-2)).toEqual(["-f", "{connection_file}"]);
      expect(spec.argv[2]).toMatch(/^\/.*kernel\/bin\/pipebook-kernel\.js$/);
      for (const [file, size] of [["logo-32x32.png", 32], ["logo-64x64.png", 64]] as const) {
        const png = readFileSync(join(path, file));
        expect(pngSize(png)).toEqual({ w: size, h: size });
        const idat = png.indexOf("IDAT");
        const len = png.readUInt32BE(idat - 4);
        expect(inflateSync(png.subarray(idat + 4, idat + 4 + len)).length).toBe((size * 4 + 1) * size);
      }
      const listed = JSON.parse(execFileSync("/usr/bin/jupyter", ["kernelspec", "list", "--json"], {
        env: { ...process.env, JUPYTER_PATH: join(prefix, "share", "jupyter") }, encoding: "utf8",
      })) as { kernelspecs: Record<string, { resource_dir: string; spec: { display_name: string } }> };
      expect(listed.kernelspecs["pipebook"]?.spec.display_name).toBe("TypeScript (pipebook)");
      expect(listed.kernelspecs["pipebook"]?.resource_dir).toBe(path);
    } finally { rmSync(prefix, { recursive: true, force: true }); }
  });

  it("refuses two install places at once", async () => {
    await expect(installKernelSpec({ user: true, prefix: "/tmp/x" })).rejects.toThrow(/choose one/);
  });
});
