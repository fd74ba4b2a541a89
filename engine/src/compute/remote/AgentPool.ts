import type { MetricRow } from "../../store/RunStore.js";
import type { LaunchOutcome } from "../Compute.js";
import { SlotQueue } from "../SlotQueue.js";
import type { AgentInventory, AgentMessage, ServerMessage, TreeListing, TransferReport } from "./agentProtocol.js";

/** How the pool reaches one connected agent (the server's WebSocket; nothing of ws here). */
export interface AgentLink {
  send(message: ServerMessage): void;
  close(reason: string): void;
}

/** Slots given to one step: GPUs of one agent. */
export interface Grant {
  readonly agent: string;
  readonly gpus: readonly number[];
  readonly holder: string;
}

/** How a job on an agent ended, as the pool saw it. */
export type JobEnd =
  | { readonly type: "ended"; readonly outcome: LaunchOutcome; readonly outputs: Readonly<Record<string, TreeListing>>; readonly transfer: TransferReport }
  | { readonly type: "lost"; readonly message: string };

/** What a job's owner hears from the agent running it. */
export interface JobHandlers {
  started(pid: number): void;
  output(stream: "stdout" | "stderr", text: string): void;
  metrics(rows: readonly MetricRow[]): void;
  note(text: string): void;
}

/** One agent as surfaces show it (REST /agents, `pipebook agents`, the page, the lab panel). */
export interface AgentState {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly inventory: AgentInventory;
  /** online: connected; away: connection lost, steps kept until the grace ends; offline: gone. */
  readonly status: "online" | "away" | "offline";
  readonly connectedAt: string;
  readonly lastSeenAt: string;
  /** Per GPU: the step holding it, or null. */
  readonly slots: readonly { readonly gpu: number; readonly step: string | null }[];
  /** Step runs on the agent (`runId.step`), with the GPUs each holds. */
  readonly jobs: readonly { readonly stepRunId: string; readonly gpus: readonly number[] }[];
}

export interface AgentPoolOptions {
  /** How often agents send a heartbeat. */
  readonly heartbeatMs: number;
  /**
   * How long an agent may be silent or disconnected before its steps fail as lost. A dropped
   * connection restored within it keeps the steps running.
   */
  readonly graceMs: number;
  /** Called after any change that surfaces show (a join, a step taking or freeing slots, a loss). */
  readonly onChange?: (agents: readonly AgentState[]) => void;
  readonly log?: (line: string) => void;
}

interface Job {
  readonly grant: Grant;
  /** Blobs offered to the agent for this job (what its token may download while it runs), and that token. */
  offered?: { readonly to: string; readonly digests: readonly string[] };
  handlers?: JobHandlers;
  settle?: (end: JobEnd) => void;
}

interface Agent {
  name: string;
  /** Who the agent connected as (Authenticator callerKey): the one caller that may read its jobs' blobs. */
  token: string;
  /** The agent process's random id: its own reconnect replaces a half-open connection at once. */
  instance: string;
  /** The last report `seq` taken from this instance: a report sent again after a drop is taken once. */
  received: number;
  labels: Readonly<Record<string, string>>;
  inventory: AgentInventory;
  link: AgentLink | undefined;
  connectedAt: number;
  lastSeen: number;
  /** When the link was lost; undefined while connected. */
  awaySince: number | undefined;
  offline: boolean;
  readonly busy: Map<number, string>;
  readonly jobs: Map<string, Job>;
}

const pools = new Map<string, AgentPool>();

/**
 * The agents connected to this `pipebook serve`, and the slot queues of the workspace's remote
 * targets over them. Each GPU of an agent is a slot; a pool (a remote compute target) is the
 * agents whose labels match its own. Lives in the server process: a workspace opened elsewhere has
 * none, and its remote targets refuse steps at submit.
 */
export class AgentPool {
  private readonly agents = new Map<string, Agent>();
  private readonly queues = new Map<string, SlotQueue<Grant>>();
  /** `token\ndigest` → jobs in flight on agents connected with that token that were offered the blob. */
  private readonly offers = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;

  private constructor(private readonly options: AgentPoolOptions) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(1000, options.graceMs / 4));
    this.sweeper.unref();
  }

  /** The pool of the server serving `workspaceDir` in this process, if one does. */
  static of(workspaceDir: string): AgentPool | undefined {
    return pools.get(workspaceDir);
  }

  /** Made by the server when it starts; closed with it. */
  static open(workspaceDir: string, options: AgentPoolOptions): AgentPool {
    pools.get(workspaceDir)?.close();
    const pool = new AgentPool(options);
    pools.set(workspaceDir, pool);
    pool.workspaceDir = workspaceDir;
    return pool;
  }

  private workspaceDir = "";

  get heartbeatMs(): number {
    return this.options.heartbeatMs;
  }

  get graceMs(): number {
    return this.options.graceMs;
  }

  close(): void {
    clearInterval(this.sweeper);
    if (pools.get(this.workspaceDir) === this) pools.delete(this.workspaceDir);
    for (const agent of this.agents.values()) {
      for (const [id, job] of agent.jobs) this.endJob(agent, id, job, { type: "lost", message: `the pipebook server stopped while the step ran on agent ${agent.name}` });
      agent.link?.close("server closing");
    }
  }

  /**
   * An agent said hello. A name already connected is taken over by the newer connection (a
   * restarted agent rejoins under its name). Steps the pool gave that name which the agent no
   * longer runs fail as lost; steps it runs that the pool does not know (given by a server
   * before a restart, or ended while it was away) are canceled on it.
   */
  /** `token`: who the connection authenticated as (Authenticator callerKey). */
  connect(hello: Extract<AgentMessage, { type: "hello" }>, link: AgentLink, token: string): boolean {
    const now = Date.now();
    let agent = this.agents.get(hello.name);
    if (agent?.link && agent.link !== link) {
      // Two live agents under one name would take each other's place forever, each failing the
      // other's steps: the one heard from within the grace keeps it; a restarted one gets in once
      // its old connection is found dead (closed, or silent for the grace).
      if (agent.instance !== hello.instance && now - agent.lastSeen < this.options.graceMs) {
        link.send({ type: "refused", reason: `an agent named ${hello.name} is already connected (host ${agent.inventory.host}); give this one another --name` });
        link.close("name taken");
        return false;
      }
      agent.link.close(`agent ${hello.name} connected again`);
    }
    if (!agent) {
      agent = { name: hello.name, token, instance: hello.instance, received: 0, labels: hello.labels, inventory: hello.inventory, link, connectedAt: now, lastSeen: now, awaySince: undefined, offline: false, busy: new Map(), jobs: new Map() };
      this.agents.set(hello.name, agent);
    }
    // Another process under the name counts its reports from 1 again.
    if (agent.instance !== hello.instance) agent.received = 0;
    Object.assign(agent, { token, instance: hello.instance, labels: hello.labels, inventory: hello.inventory, link, connectedAt: now, lastSeen: now, awaySince: undefined, offline: false });
    link.send({ type: "welcome", heartbeatMs: this.options.heartbeatMs, graceMs: this.options.graceMs, received: agent.received });
    const running = new Set(hello.running);
    for (const [id, job] of agent.jobs) {
      // A job granted but not yet sent has nothing to find on the agent.
      if (job.settle && job.handlers && !running.has(id)) this.endJob(agent, id, job, { type: "lost", message: lostMessage(agent.name) });
    }
    for (const id of running) if (!agent.jobs.has(id)) link.send({ type: "cancel", id, reason: "this server does not know the step (it ended while the agent was away, or the server restarted)" });
    this.options.log?.(`agent ${agent.name} connected (${agent.inventory.gpus.length} GPUs, ${agent.inventory.cpus} CPUs)`);
    this.changed();
    return true;
  }

  /** The agent's connection closed; its steps wait for it to come back until the grace ends. */
  disconnected(name: string, link: AgentLink): void {
    const agent = this.agents.get(name);
    if (!agent || agent.link !== link) return;
    agent.link = undefined;
    agent.awaySince = Date.now();
    this.options.log?.(`agent ${name} disconnected; its steps fail unless it is back within ${this.options.graceMs / 1000} s`);
    this.changed();
  }

  /** A frame from a connected agent (after its hello). */
  message(name: string, link: AgentLink, m: AgentMessage): void {
    const agent = this.agents.get(name);
    if (!agent || agent.link !== link) return;
    agent.lastSeen = Date.now();
    if (m.type === "hello") return;
    if (m.type === "heartbeat") return link.send({ type: "ack", seq: agent.received });
    if (m.seq <= agent.received) return; // Sent again after a drop; taken already.
    agent.received = m.seq;
    const job = agent.jobs.get(m.id);
    if (!job?.handlers) {
      if (m.type !== "ended") link.send({ type: "cancel", id: m.id, reason: "this server does not know the step" });
      return;
    }
    switch (m.type) {
      case "started":
        return job.handlers.started(m.pid);
      case "output":
        return job.handlers.output(m.stream, m.text);
      case "metrics":
        return job.handlers.metrics(m.rows);
      case "note":
        return job.handlers.note(m.text);
      case "ended":
        return this.endJob(agent, m.id, job, { type: "ended", outcome: m.outcome, outputs: m.outputs, transfer: m.transfer });
    }
  }

  /** The fair FIFO slot queue of one pool: the agents whose labels include all of `labels`. */
  queue(pool: string, labels: Readonly<Record<string, string>>): SlotQueue<Grant> {
    let q = this.queues.get(pool);
    if (!q) {
      q = new SlotQueue<Grant>(pool, { tryTake: (count, holder) => this.take(labels, count, holder) });
      this.queues.set(pool, q);
    }
    return q;
  }

  /**
   * Sends a granted job to its agent; resolves when it ends or the agent is lost. Aborting
   * `signal` asks the agent to stop the step (it then ends "canceled").
   */
  run(grant: Grant, message: Extract<ServerMessage, { type: "job" }>, handlers: JobHandlers, signal: AbortSignal): Promise<JobEnd> {
    const agent = this.agents.get(grant.agent);
    const job = agent?.jobs.get(grant.holder);
    if (!agent || !job) return Promise.resolve({ type: "lost", message: lostMessage(grant.agent) });
    return new Promise<JobEnd>((resolve) => {
      const onAbort = (): void => agent.link?.send({ type: "cancel", id: grant.holder, reason: "the run was canceled" });
      job.handlers = handlers;
      // Offered to the token the agent connected with: another token (another agent's, or one
      // that takes this agent's name later) reads none of them.
      job.offered = { to: agent.token, digests: [...new Set([...message.snapshot, ...Object.values(message.inputs).flatMap((l) => l.files)].map(([, d]) => d))] };
      for (const d of job.offered.digests) {
        const key = offerKey(agent.token, d);
        this.offers.set(key, (this.offers.get(key) ?? 0) + 1);
      }
      job.settle = (end) => {
        signal.removeEventListener("abort", onAbort);
        resolve(end);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      if (agent.link) {
        agent.link.send(message);
        // Surfaces show the slot busy with this step from now on.
        this.options.onChange?.(this.list());
      } else this.endJob(agent, grant.holder, job, { type: "lost", message: lostMessage(agent.name) });
    });
  }

  /** Frees a grant's slots (every path of a step's end comes here; freeing twice is harmless). */
  release(grant: Grant): void {
    const agent = this.agents.get(grant.agent);
    if (!agent) return;
    const job = agent.jobs.get(grant.holder);
    if (job && job.grant !== grant) return;
    agent.jobs.delete(grant.holder);
    if (job?.offered) {
      for (const d of job.offered.digests) {
        const key = offerKey(job.offered.to, d);
        const n = (this.offers.get(key) ?? 1) - 1;
        if (n > 0) this.offers.set(key, n);
        else this.offers.delete(key);
      }
    }
    for (const g of grant.gpus) if (agent.busy.get(g) === grant.holder) agent.busy.delete(g);
    this.changed();
  }

  /** Every agent this server has seen since it started, online or not. */
  list(): AgentState[] {
    return [...this.agents.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((a) => ({
      name: a.name,
      labels: a.labels,
      inventory: a.inventory,
      status: a.offline ? "offline" : a.link ? "online" : "away",
      connectedAt: new Date(a.connectedAt).toISOString(),
      lastSeenAt: new Date(a.lastSeen).toISOString(),
      slots: a.inventory.gpus.map((g) => ({ gpu: g.index, step: a.busy.get(g.index) ?? null })),
      jobs: [...a.jobs.values()].map((j) => ({ stepRunId: j.grant.holder, gpus: j.grant.gpus })),
    }));
  }

  /** Whether a job in flight on an agent connected with `token` was offered this blob: all an agent token may download. */
  offered(digest: string, token: string): boolean {
    return this.offers.has(offerKey(token, digest));
  }

    /** Steps waiting in a pool's queue, in order. */
  waiting(pool: string): readonly string[] {
    return this.queues.get(pool)?.holders ?? [];
  }

  private take(labels: Readonly<Record<string, string>>, count: number, holder: string): Grant | undefined {
    for (const agent of [...this.agents.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (!agent.link || agent.offline) continue;
      if (!Object.entries(labels).every(([k, v]) => agent.labels[k] === v)) continue;
      // A step without GPUs takes a CPU's worth of the agent; GPU steps are bounded by their GPUs.
      if (count === 0 && agent.jobs.size >= Math.max(1, agent.inventory.cpus)) continue;
      const free = agent.inventory.gpus.map((g) => g.index).filter((i) => !agent.busy.has(i));
      if (free.length < count) continue;
      const grant: Grant = { agent: agent.name, gpus: free.slice(0, count), holder };
      for (const g of grant.gpus) agent.busy.set(g, holder);
      agent.jobs.set(holder, { grant });
      return grant;
    }
    return undefined;
  }

  private endJob(agent: Agent, id: string, job: Job, end: JobEnd): void {
    const settle = job.settle;
    job.settle = undefined;
    job.handlers = undefined;
    if (end.type === "lost") agent.link?.send({ type: "cancel", id, reason: end.message });
    this.release(job.grant);
    settle?.(end);
  }

  /** Silent agents are cut off; agents away past the grace are lost with their steps. */
  private sweep(): void {
    const now = Date.now();
    for (const agent of this.agents.values()) {
      if (agent.link && now - agent.lastSeen > this.options.graceMs) {
        const link = agent.link;
        link.close(`no heartbeat for ${this.options.graceMs / 1000} s`);
        this.disconnected(agent.name, link);
      }
      if (!agent.link && !agent.offline && agent.awaySince !== undefined && now - agent.awaySince >= this.options.graceMs) {
        agent.offline = true;
        for (const [id, job] of agent.jobs) this.endJob(agent, id, job, { type: "lost", message: lostMessage(agent.name) });
        this.options.log?.(`agent ${agent.name} lost`);
        this.changed();
      }
    }
  }

  private changed(): void {
    for (const q of this.queues.values()) q.changed();
    this.options.onChange?.(this.list());
  }
}

/** The one wording of a lost agent, which the issue names. */
export function lostMessage(agent: string): string {
  return `agent ${agent} lost while the step ran`;
}

function offerKey(token: string, digest: string): string {
  return `${token}\n${digest}`;
}
