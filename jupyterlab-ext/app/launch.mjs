/**
 * Starts the pipebook workbench: `pipebook serve` (when the engine has it) and the Jupyter
 * server with the bundled lab, on 127.0.0.1 with generated tokens. Used by start.mjs (what a
 * user runs) and by the browser tests, so both go through the same path.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, "..", "..");
export const PYTHON = process.env.PIPEBOOK_PYTHON ?? "/usr/bin/python3";
const ENGINE_CLI = path.join(repoRoot, "engine", "dist", "cli", "main.js");

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** What is missing on this machine for the workbench to start, as sentences; empty when all is there. */
export function checkPrerequisites() {
  const problems = [];
  const python = spawnSync(PYTHON, ["-c", "import jupyter_server, jupyterlab_server"], { encoding: "utf8" });
  if (python.status !== 0) {
    problems.push(
      `${PYTHON} cannot import jupyter_server and jupyterlab_server. Install Debian's packages: ` +
        "apt-get install -y --no-install-recommends python3-jupyter-server python3-jupyterlab-server",
    );
  }
  return problems;
}

/**
 * True when the engine is built with its REST server (`pipebook serve`); the panel needs it.
 * A file check, not `serve --help`: starting Node for the help text cost a second per start.
 */
export function engineCanServe() {
  return existsSync(ENGINE_CLI) && existsSync(path.join(repoRoot, "engine", "dist", "server", "startServer.js"));
}

async function waitFor(check, { timeoutMs, what, child }) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready`);
    }
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${what} was not ready after ${timeoutMs} ms${lastError ? `: ${lastError}` : ""}`);
}

function stopChild(child, signal = "SIGTERM", graceMs = 5000) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/**
 * Installs the pipebook kernelspec (through the kernel package's own installer) under
 * `<runtime>/share/jupyter`, so the workbench lists "TypeScript (pipebook)" without touching the
 * user's Jupyter directories. Returns the directory to put on JUPYTER_PATH, or undefined when the
 * kernel is not built.
 */
export async function prepareKernelspec(runtimeDir) {
  const installer = path.join(repoRoot, "kernel", "dist", "install.js");
  if (!existsSync(installer)) return undefined;
  const { installKernelSpec } = await import(installer);
  await installKernelSpec({ prefix: runtimeDir });
  return path.join(runtimeDir, "share", "jupyter");
}

/**
 * @param {{ rootDir: string, port?: number, token?: string, serve?: boolean, api?: { url: string, token: string }, runtimeDir?: string, env?: Record<string,string>, log?: (line: string) => void, jupyterPath?: string }} options
 * @returns {Promise<{ url: string, baseUrl: string, token: string, apiUrl?: string, stop: () => Promise<void> }>}
 */
export async function launchWorkbench(options) {
  const log = options.log ?? (() => {});
  const token = options.token ?? randomBytes(24).toString("hex");
  const port = options.port ?? (await freePort());
  const runtimeDir = options.runtimeDir ?? path.join(here, "runtime");
  mkdirSync(runtimeDir, { recursive: true });
  const children = [];
  const stop = async () => {
    await Promise.all(children.reverse().map((child) => stopChild(child)));
  };
  const readiness = [];
  try {
    const env = { ...process.env, ...options.env, PIPEBOOK_LAB_RUNTIME: runtimeDir };
    if (options.api !== undefined) {
      // An existing pipebook server (a shared or remote one): proxy to it, start none.
      env.PIPEBOOK_API_URL = options.api.url;
      env.PIPEBOOK_API_TOKEN = options.api.token;
    } else if (options.serve !== false && engineCanServe()) {
      // Started side by side with the Jupyter server (its port is chosen first, so the lab's
      // proxy knows where it will be); both are awaited together below.
      const apiPort = await freePort();
      const apiToken = randomBytes(24).toString("hex");
      const serve = spawn(process.execPath, [ENGINE_CLI, "serve", "--port", String(apiPort), "--token", apiToken], {
        cwd: options.rootDir, env, stdio: ["ignore", "pipe", "pipe"],
      });
      children.push(serve);
      serve.stdout.on("data", (d) => log(`[serve] ${d}`));
      serve.stderr.on("data", (d) => log(`[serve] ${d}`));
      const apiUrl = `http://127.0.0.1:${apiPort}/`;
      readiness.push(
        waitFor(async () => (await fetch(`${apiUrl}health`)).ok, { timeoutMs: 30_000, what: "pipebook serve", child: serve }),
      );
      env.PIPEBOOK_API_URL = apiUrl;
      env.PIPEBOOK_API_TOKEN = apiToken;
    }
    const kernelPath = await prepareKernelspec(runtimeDir);
    const jupyterPath = [options.jupyterPath, kernelPath, env.JUPYTER_PATH].filter(Boolean).join(path.delimiter);
    if (jupyterPath) env.JUPYTER_PATH = jupyterPath;
    const lab = spawn(
      PYTHON,
      [
        path.join(here, "pipebook_lab.py"),
        "--ServerApp.ip=127.0.0.1", `--ServerApp.port=${port}`, "--ServerApp.port_retries=0",
        `--ServerApp.token=${token}`, "--ServerApp.allow_root=True", "--ServerApp.open_browser=False",
        `--ServerApp.root_dir=${options.rootDir}`,
      ],
      { cwd: options.rootDir, env, stdio: ["ignore", "pipe", "pipe"] },
    );
    children.push(lab);
    lab.stdout.on("data", (d) => log(`[lab] ${d}`));
    lab.stderr.on("data", (d) => log(`[lab] ${d}`));
    const baseUrl = `http://127.0.0.1:${port}/`;
    readiness.push(
      waitFor(async () => (await fetch(`${baseUrl}api/status`, { headers: { Authorization: `token ${token}` } })).ok, {
        timeoutMs: 60_000, what: "the Jupyter server", child: lab,
      }),
    );
    await Promise.all(readiness);
    return { url: `${baseUrl}lab?token=${token}`, baseUrl, token, apiUrl: env.PIPEBOOK_API_URL, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
