import { mkdirSync, readFileSync, statfsSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { join, resolve } from "node:path";
import { Agent } from "../agents/Agent.js";
import { agentInventory, parseGpuChoice } from "../agents/agentInventory.js";
import { openRunHistory } from "../workspace/openRunHistory.js";
import { formatBytes } from "../compute/remote/treePaths.js";
import { CliError } from "./CliFailure.js";
import { table } from "./format.js";

/** A row older than this is from a server that stopped writing (stopped, or killed). */
const STALE_MS = 15_000;

export async function agentCommand(o: { server: string; token?: string; name?: string; labels: string[]; gpus: string; dir?: string; cacheLimit?: string }): Promise<void> {
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
  const limit = o.cacheLimit === undefined ? undefined : parseSize(o.cacheLimit);
  if (o.cacheLimit !== undefined && limit === undefined) throw new CliError({ reason: "agent-cache-limit-invalid", limit: o.cacheLimit });
  const dir = resolve(o.dir ?? join(homedir(), ".pipebook-agent", name));
  mkdirSync(dir, { recursive: true });
  const disk = statfsSync(dir);
  const cacheLimitBytes = limit ?? Math.floor((disk.blocks * disk.bsize) / 2);
  const inventory = await agentInventory(choice, dir, version());
  const log = (line: string): void => void process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  log(`agent ${name}: ${inventory.gpus.length > 0 ? inventory.gpus.map((g) => `GPU ${g.index} ${g.name}`).join(", ") : "no GPUs"}; ${inventory.cpus} CPUs; cache ${dir} (at most ${formatBytes(cacheLimitBytes)}${limit === undefined ? ": half of its disk; --cache-limit to change" : ""})`);
  const agent = new Agent({ server: o.server, token, name, labels, inventory, dir, cacheLimitBytes, log });
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

const UNITS: Readonly<Record<string, number>> = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/**
 * A size as pipebook prints them, in binary units ("50 GiB", "500MiB", "2T", "1.5g", a plain
 * number of bytes), or undefined for anything else.
 */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt])(?:i?b)?|b)?\s*$/i.exec(text);
  return m ? Math.floor(Number(m[1]) * UNITS[(m[2] ?? "").toLowerCase()]!) : undefined;
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}
