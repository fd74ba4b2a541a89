import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiTokens, type Workspace } from "pipebook";
import { startServer, type RunningServer, type ServerOptions } from "pipebook/server";
import { CLI, sandbox, type Sandbox } from "../engine/helpers.js";

/**
 * Agents here run on 127.0.0.1 with stand-in GPUs: this machine has none, so PIPEBOOK_GPUS
 * names the GPUs each agent reports (nvidia-smi is not asked). Slots, the pool queue,
 * CUDA_VISIBLE_DEVICES, transfers and faults are the real code over real sockets and processes.
 */
export interface AgentSandbox {
  readonly sb: Sandbox;
  readonly ws: Workspace;
  readonly server: RunningServer;
  readonly agentToken: string;
  readonly adminToken: string;
  readonly readToken: string;
  /** Starts `pipebook agent` as a real process; `server` defaults to this sandbox's. */
  agent(name: string, o?: { gpus?: string; labels?: string[]; server?: string; dir?: string; cacheLimit?: string }): AgentProcess;
  /** Resolves when the pool has `name` in `status` (online by default). */
  waitForAgent(name: string, status?: "online" | "away" | "offline"): Promise<void>;
  close(): Promise<void>;
}

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly dir: string;
  /** Everything the agent wrote to stderr so far. */
  log(): string;
  /** Resolves with the exit code and signal. */
  exited(): Promise<{ code: number | null; signal: string | null }>;
}

export const GRACE_MS = 1500;

export async function agentSandbox(options: Omit<ServerOptions, "workspace"> = {}): Promise<AgentSandbox> {
  const sb = await sandbox();
  sb.ws.attachCompute("a100", { kind: "remote", labels: { gpu: "a100" } });
  const tokens = new ApiTokens(sb.ws);
  const agentToken = tokens.create("agent", ["agent"]).token;
  const adminToken = tokens.create("admin", ["admin"]).token;
  const readToken = tokens.create("reader", ["read"]).token;
  const server = await startServer({ workspace: sb.ws, port: 0, log: () => undefined, schedules: false, agents: { graceMs: GRACE_MS }, ...options });
  const agents: AgentProcess[] = [];
  const dirs: string[] = [];
  return {
    sb, ws: sb.ws, server, agentToken, adminToken, readToken,
    agent(name, o = {}) {
      const dir = o.dir ?? join(sb.dir, `agent-${name}`);
      const args = [CLI, "agent", "--server", o.server ?? server.url, "--token", agentToken, "--name", name, "--dir", dir, "--gpus", "auto"];
      for (const l of o.labels ?? ["gpu=a100"]) args.push("--labels", l);
      if (o.cacheLimit !== undefined) args.push("--cache-limit", o.cacheLimit);
      const child = spawn(process.execPath, args, { env: { ...process.env, PIPEBOOK_GPUS: o.gpus ?? "0,1" }, stdio: ["ignore", "ignore", "pipe"] });
      let text = "";
      child.stderr!.on("data", (d: Buffer) => (text += d.toString()));
      const exit = new Promise<{ code: number | null; signal: string | null }>((r) => child.once("exit", (code, signal) => r({ code, signal })));
      const p: AgentProcess = { child, dir, log: () => text, exited: () => exit };
      agents.push(p);
      return p;
    },
    async waitForAgent(name, status = "online") {
      for (;;) {
        if (server.agents.list().some((a) => a.name === name && a.status === status)) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      for (const a of agents) if (a.child.exitCode === null && a.child.signalCode === null) a.child.kill("SIGKILL");
      await Promise.all(agents.map((a) => a.exited()));
      await server.close().catch(() => undefined);
      for (const d of dirs) await rm(d, { recursive: true, force: true });
      await sb.close();
    },
  };
}

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "pipebook-agent-"));
}
