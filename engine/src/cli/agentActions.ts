import { readFileSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { join, resolve } from "node:path";
import { Agent } from "../agents/Agent.js";
import { agentInventory, parseGpuChoice } from "../agents/agentInventory.js";
import { openRunHistory } from "../workspace/openRunHistory.js";
import { CliError } from "./CliFailure.js";
import { table } from "./format.js";

/** A row older than this is from a server that stopped writing (stopped, or killed). */
const STALE_MS = 15_000;

export async function agentCommand(o: { server: string; token?: string; name?: string; labels: string[]; gpus: string; dir?: string }): Promise<void> {
  const token = o.token ?? process.env["PIPEBOOK_AGENT_TOKEN"];
  if (!token) throw new CliError({ reason: "agent-token-missing" });
  const protocol = URL.canParse(o.server) ? new URL(o.server).protocol : undefined;
  if (protocol !== "http:" && protocol !== "https:") throw new CliError({ reason: "agent-server-invalid", server: o.server });
  const name = o.name ?? hostname().split(".")[0]!;
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/.test(name)) throw new CliError({ reason: "agent-name-invalid", name });
  const labels: Record<string, string> = {};
  for (const l of o.labels) {
    const m = /^([A-Za-z0-9_.-]+)=(.+)$/.exec(l);
    if (!m) throw new CliError({ reason: "agent-label-invalid", label: l });
    labels[m[1]!] = m[2]!;
  }
  const choice = parseGpuChoice(o.gpus);
  if (choice === undefined) throw new CliError({ reason: "agent-gpus-invalid", gpus: o.gpus });
  const dir = resolve(o.dir ?? join(homedir(), ".pipebook-agent", name));
  const { mkdirSync } = await import("node:fs");
  mkdirSync(dir, { recursive: true });
  const inventory = await agentInventory(choice, dir, version());
  const log = (line: string): void => void process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  log(`agent ${name}: ${inventory.gpus.length > 0 ? inventory.gpus.map((g) => `GPU ${g.index} ${g.name}`).join(", ") : "no GPUs"}; ${inventory.cpus} CPUs; cache ${dir}`);
  const agent = new Agent({ server: o.server, token, name, labels, inventory, dir, log });
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => agent.stop());
  await agent.run();
}

export async function agentsCommand(): Promise<void> {
  const ws = await openRunHistory();
  const rows = ws.agents.list();
  if (rows.length === 0) return void process.stdout.write(`no agents have connected to a server of ${ws.dir} (start one: pipebook agent --server URL --token T)\n`);
  const now = Date.now();
  process.stdout.write(`${table(
    ["agent", "status", "labels", "GPUs (slots)", "running", "host"],
    rows.map((r) => {
      const a = r.state;
      const stale = now - r.updatedAt > STALE_MS && a.status !== "offline";
      const slots = a.slots.length === 0 ? "none" : a.slots.map((s) => `${s.gpu}:${s.step === null ? "free" : "busy"}`).join(" ");
      return [
        a.name, stale ? `unknown (its server pid ${r.serverPid} has not reported for ${Math.round((now - r.updatedAt) / 1000)} s)` : a.status,
        Object.entries(a.labels).map(([k, v]) => `${k}=${v}`).join(",") || "-", slots,
        a.jobs.map((j) => `${j.stepRunId}${j.gpus.length > 0 ? ` [GPU ${j.gpus.join(",")}]` : ""}`).join(", ") || "-", a.inventory.host,
      ];
    }),
  )}\n`);
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}
