import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { BlobStore } from "../artifacts/BlobStore.js";
import { BlobClient } from "../blobs/BlobClient.js";
import { LocalCompute } from "../compute/LocalCompute.js";
import type { AgentInventory, AgentMessage, JobReport, ServerMessage } from "../compute/remote/agentProtocol.js";
import { AgentError } from "./AgentFailure.js";
import { AgentConnection } from "./AgentConnection.js";
import { runAgentJob } from "./runAgentJob.js";
import { trimCache } from "./trimCache.js";
import { formatBytes } from "../compute/remote/treePaths.js";

export interface AgentOptions {
  readonly server: string;
  readonly token: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly inventory: AgentInventory;
  /** Holds `cache/` (blobs by digest) and `work/` (one folder per running job); nothing else is written. */
  readonly dir: string;
  /** The most the blob cache may hold: past it, the blobs used longest ago go after each job. */
  readonly cacheLimitBytes: number;
  readonly log: (line: string) => void;
}

/** Reports kept until the server acknowledges them (a step's log lines); older ones beyond it are dropped. */
const UNACKED_LIMIT = 20_000;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5000;

/**
 * `pipebook agent`: dials out to a server, says who it is and what it has, heartbeats, and runs the
 * jobs it is given. A dropped connection is dialed again with backoff; jobs keep running meanwhile
 * and what they report is kept until the server acknowledges it and sent again after a drop,
 * so a connection restored within the server's grace loses nothing, not even frames written into
 * the connection that dropped. A restarted agent rejoins under its name.
 */
export class Agent {
  private connection: AgentConnection | undefined;
  private readonly running = new Map<string, AbortController>();
  /** The blobs each running job names (code and inputs): never trimmed from the cache while it runs. */
  private readonly pinned = new Map<string, ReadonlySet<string>>();
  /** Job reports the server has not acknowledged, oldest first. */
  private readonly unacked: (JobReport & { readonly seq: number })[] = [];
  private seq = 0;
  private readonly cache: BlobStore;
  private readonly transfer: BlobClient;
  private readonly compute: LocalCompute;
  private heartbeat: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  /** Set while away from the server with jobs running: when it fires they are stopped. */
  private fence: NodeJS.Timeout | undefined;
  /** The server's grace, from its welcome. */
  private graceMs: number | undefined;
  private backoff = BACKOFF_MIN_MS;
  private stopped = false;
  private welcomed = false;
  private settleStop: ((err?: Error) => void) | undefined;
  private lastRefusal: string | undefined;
  private readonly instance = randomUUID();

  constructor(private readonly o: AgentOptions) {
    // Jobs of an earlier life of this agent are gone with it.
    for (const sub of ["work", "data"]) {
      mkdirSync(join(o.dir, sub), { recursive: true });
      for (const e of readdirSync(join(o.dir, sub))) rmSync(join(o.dir, sub, e), { recursive: true, force: true });
    }
    this.cache = new BlobStore(join(o.dir, "cache"));
    this.transfer = new BlobClient(o.server, o.token);
    // Its folder stands where a workspace's store does: data/ read-only to steps (as root), as locally.
    this.compute = new LocalCompute("agent", { envsDir: join(o.dir, "envs"), workspaceDir: o.dir });
  }

  /** Runs until `stop()` (resolves) or the server refuses the agent for good (rejects with an AgentError). */
  run(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.settleStop = (err) => (err ? reject(err) : resolve());
      // An agent restarted with a lower limit trims at once.
      this.trim();
      this.dial();
    });
  }

  /** Stops its jobs and closes the connection. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.retry);
    clearTimeout(this.fence);
    for (const c of this.running.values()) c.abort();
    this.connection?.close();
    this.settleStop?.();
  }

  private dial(): void {
    if (this.stopped) return;
    this.welcomed = false;
    const connection = new AgentConnection(this.o.server, this.o.token, {
      opened: () => {
        connection.send({ type: "hello", name: this.o.name, instance: this.instance, labels: this.o.labels, inventory: this.o.inventory, running: this.inFlight() });
      },
      message: (m) => this.handle(connection, m),
      closed: (reason, refused) => {
        if (this.connection !== connection) return;
        this.connection = undefined;
        clearInterval(this.heartbeat);
        if (this.stopped) return;
        if (refused) {
          this.stopped = true;
          for (const c of this.running.values()) c.abort();
          this.settleStop?.(new AgentError({ reason: "refused", server: this.o.server, agent: this.o.name, why: reason }));
          return;
        }
        if (this.welcomed) this.o.log(`disconnected from ${this.o.server} (${reason}); dialing again`);
        // Past the server's grace it has failed these steps (or run them again elsewhere): a
        // step must never run twice at once, so the agent stops them itself.
        if (this.graceMs !== undefined && this.fence === undefined && this.running.size > 0) {
          this.fence = setTimeout(() => {
            this.fence = undefined;
            if (this.welcomed) return;
            for (const [id, c] of this.running) {
              this.o.log(`step ${id}: stopping (away from the server for longer than its grace of ${this.graceMs! / 1000} s)`);
              c.abort();
            }
          }, this.graceMs);
        }
        this.retry = setTimeout(() => this.dial(), this.backoff);
        this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
      },
    });
    this.connection = connection;
  }

  private handle(connection: AgentConnection, m: ServerMessage): void {
    switch (m.type) {
      case "welcome":
        this.welcomed = true;
        this.lastRefusal = undefined;
        this.graceMs = m.graceMs;
        clearTimeout(this.fence);
        this.fence = undefined;
        this.backoff = BACKOFF_MIN_MS;
        this.o.log(`agent ${this.o.name} connected to ${this.o.server} (${this.o.inventory.gpus.length} GPUs)`);
        clearInterval(this.heartbeat);
        this.heartbeat = setInterval(() => connection.send({ type: "heartbeat" }), m.heartbeatMs);
        this.acknowledged(m.received);
        for (const report of this.unacked) connection.send(report);
        return;
      case "ack":
        this.acknowledged(m.seq);
        return;
      case "refused":
        // Said once per refusal streak; the agent keeps dialing (a restarted agent is let in once
        // the server finds its old connection dead).
        if (this.lastRefusal !== m.reason) this.o.log(`the server refused this agent: ${m.reason}; dialing again`);
        this.lastRefusal = m.reason;
        return;
      case "job": {
        const id = m.job.stepRunId;
        if (this.running.has(id)) return; // A step never runs twice at once.
        const controller = new AbortController();
        this.running.set(id, controller);
        this.pinned.set(id, new Set([...m.snapshot, ...Object.values(m.inputs).flatMap((l) => l.files)].map(([, d]) => d)));
        this.o.log(`step ${id}: started${m.gpus.length > 0 ? ` on GPU ${m.gpus.join(",")}` : ""}`);
        void runAgentJob(m, {
          agentName: this.o.name, cache: this.cache, transfer: this.transfer, workRoot: join(this.o.dir, "work"), dataRoot: join(this.o.dir, "data"), compute: this.compute,
          machineGpus: this.o.inventory.gpus.length, send: (msg) => this.send(msg),
        }, controller.signal)
          .catch((err: unknown): Extract<JobReport, { type: "ended" }> => ({
            type: "ended", id, outcome: { reason: "lost", message: `the agent failed: ${err instanceof Error ? err.message : String(err)}` }, outputs: {},
            transfer: { inputBytesMoved: 0, inputBytesCached: 0, outputBytesMoved: 0, outputBytesPresent: 0 },
          }))
          .then((ended) => {
            this.running.delete(id);
            this.pinned.delete(id);
            this.trim();
            this.o.log(`step ${id}: ${ended.outcome.reason}`);
            this.send(ended);
          });
        return;
      }
      case "cancel":
        if (this.running.has(m.id)) this.o.log(`step ${m.id}: stopping (${m.reason})`);
        this.running.get(m.id)?.abort();
        return;
    }
  }

  /** Keeps the blob cache within its limit; says what it removed. */
  private trim(): void {
    const t = trimCache(this.cache, this.o.cacheLimitBytes, new Set([...this.pinned.values()].flatMap((s) => [...s])));
    const limit = formatBytes(this.o.cacheLimitBytes);
    if (t.removed > 0) this.o.log(`cache: removed ${t.removed} blob${t.removed > 1 ? "s" : ""} used longest ago (${formatBytes(t.freedBytes)}) to stay within its limit of ${limit}`);
    if (t.heldBytes > this.o.cacheLimitBytes) this.o.log(`cache: holds ${formatBytes(t.heldBytes)}, over its limit of ${limit}: running jobs use the rest`);
  }

  /** Jobs running, and those whose end the server has not acknowledged: it must not count them lost. */
  private inFlight(): string[] {
    return [...new Set([...this.running.keys(), ...this.unacked.flatMap((m) => (m.type === "ended" ? [m.id] : []))])];
  }

  /** Sent now when connected, and kept until acknowledged either way. */
  private send(m: JobReport): void {
    const report = { ...m, seq: ++this.seq };
    this.unacked.push(report);
    if (this.unacked.length > UNACKED_LIMIT) this.unacked.splice(0, this.unacked.length - UNACKED_LIMIT);
    if (this.welcomed) this.connection?.send(report);
  }

  private acknowledged(seq: number): void {
    let taken = 0;
    while (taken < this.unacked.length && this.unacked[taken]!.seq <= seq) taken++;
    this.unacked.splice(0, taken);
  }
}
