import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { logoPng } from "./install/pngLogo.js";

export interface InstallOptions {
  /** Into the user's Jupyter data dir (the default when no other place is given). */
  readonly user?: boolean;
  /** Into PREFIX/share/jupyter/kernels (as `jupyter kernelspec install --prefix`). */
  readonly prefix?: string;
  /** Into the Python environment's sys.prefix (Python from $PIPEBOOK_PYTHON, else python3). */
  readonly sysPrefix?: boolean;
  /** Kernelspec folder name; tests use their own so they never replace the user's. */
  readonly name?: string;
  readonly displayName?: string;
  /** Extra environment for the kernel process. */
  readonly env?: Readonly<Record<string, string>>;
}

export const KERNEL_NAME = "pipebook";
export const DISPLAY_NAME = "TypeScript (pipebook)";

/** The absolute path of the kernel launcher that the kernelspec runs. */
export function kernelLauncher(): string {
  return fileURLToPath(new URL("../bin/pipebook-kernel.js", import.meta.url));
}

/** Writes kernel.json and the logos; returns the kernelspec folder. */
export async function installKernelSpec(opts: InstallOptions = {}): Promise<{ path: string }> {
  const name = opts.name ?? KERNEL_NAME;
  const dir = join(kernelsDir(opts), name);
  await mkdir(dir, { recursive: true });
  const spec = {
    argv: [process.execPath, "--experimental-import-meta-resolve", kernelLauncher(), "-f", "{connection_file}"],
    display_name: opts.displayName ?? DISPLAY_NAME,
    language: "typescript",
    // Interrupts arrive on the control channel, where the I/O thread can stop even a busy loop.
    interrupt_mode: "message",
    env: { ...(opts.env ?? {}) },
    metadata: { debugger: false },
  };
  await writeFile(join(dir, "kernel.json"), `${JSON.stringify(spec, null, 2)}\n`);
  await writeFile(join(dir, "logo-32x32.png"), logoPng(32));
  await writeFile(join(dir, "logo-64x64.png"), logoPng(64));
  return { path: dir };
}

function kernelsDir(opts: InstallOptions): string {
  const chosen = [opts.user, opts.prefix !== undefined, opts.sysPrefix].filter(Boolean).length;
  if (chosen > 1) throw new Error("choose one of --user, --prefix and --sys-prefix");
  if (opts.prefix !== undefined) return join(opts.prefix, "share", "jupyter", "kernels");
  if (opts.sysPrefix) {
    const python = process.env["PIPEBOOK_PYTHON"] ?? "python3";
    const prefix = execFileSync(python, ["-c", "import sys; print(sys.prefix)"], { encoding: "utf8" }).trim();
    return join(prefix, "share", "jupyter", "kernels");
  }
  const data = process.env["JUPYTER_DATA_DIR"]
    ?? (process.platform === "darwin" ? join(homedir(), "Library", "Jupyter")
      : join(process.env["XDG_DATA_HOME"] ?? join(homedir(), ".local", "share"), "jupyter"));
  return join(data, "kernels");
}
