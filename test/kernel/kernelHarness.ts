/**
 * Installs the built kernel under a throwaway Jupyter path and drives it with the real Python
 * Jupyter client (driver.py). The user's own kernelspecs and history are never touched.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { installKernelSpec } from "../../kernel/src/install.js";

export const PYTHON = "/usr/bin/python3";
export const HERE = fileURLToPath(new URL(".", import.meta.url));

export interface KernelEnv {
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
  /** Folder the kernel starts in (its notebook folder). */
  readonly cwd: string;
  cleanup(): void;
}

export async function kernelEnv(extraEnv: Record<string, string> = {}): Promise<KernelEnv> {
  const root = mkdtempSync(join(tmpdir(), "pipebook-kernel-test-"));
  await installKernelSpec({
    prefix: root, name: "pipebook-test",
    env: { PIPEBOOK_KERNEL_HISTORY: join(root, "history.jsonl"), ...extraEnv },
  });
  return {
    root, cwd: root,
    env: { ...process.env, JUPYTER_PATH: join(root, "share", "jupyter"), JUPYTER_RUNTIME_DIR: join(root, "runtime"), PIPEBOOK_TEST_KERNEL: "pipebook-test" },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

export function runPython(args: string[], k: KernelEnv, input?: string, timeoutMs = 240_000, cwd = k.cwd): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(PYTHON, args, { env: k.env, cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Runs driver.py and parses the JSON object on its last stdout line. */
export async function driver<T>(k: KernelEnv, args: string[], input?: string, cwd?: string): Promise<T> {
  const r = await runPython([join(HERE, "driver.py"), ...args], k, input, 240_000, cwd);
  const last = r.stdout.trim().split("\n").pop() ?? "";
  try { return JSON.parse(last) as T; } catch {
    throw new Error(`driver ${args.join(" ")} failed (exit ${r.code}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  }
}

export interface CellResult {
  reply: { status: string; ename?: string; evalue?: string; traceback?: string[]; execution_count: number };
  outputs: { type: string; content: Record<string, unknown> }[];
}

export async function runCells(k: KernelEnv, cells: string[], cwd?: string): Promise<CellResult[]> {
  const r = await driver<{ results: CellResult[] }>(k, ["cells"], JSON.stringify(cells), cwd);
  return r.results;
}

export function textOf(r: CellResult): string {
  return r.outputs.map((o) => {
    if (o.type === "stream") return String(o.content["text"]);
    if (o.type === "execute_result" || o.type === "display_data") return String((o.content["data"] as Record<string, unknown>)["text/plain"] ?? "");
    if (o.type === "error") return `${String(o.content["ename"])}: ${String(o.content["evalue"])}\n${(o.content["traceback"] as string[]).join("\n")}`;
    return "";
  }).join("");
}
