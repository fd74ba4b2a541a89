import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

/**
 * Why a Slurm command gave no answer: `missing` (not installed where looked for), `unreachable`
 * (no controller answers, or no configuration to find one), `refused` (Slurm answered no: an
 * invalid partition, a job it cannot ever run). `detail` is Slurm's own line.
 */
export class SlurmCommandError extends Error {
  override readonly name = "SlurmCommandError";
  constructor(
    readonly reason: "missing" | "unreachable" | "refused",
    readonly command: string,
    readonly detail: string,
  ) {
    super(`${command}: ${detail}`);
  }
}

/** A job as squeue reports it, one poll. */
export interface SlurmJobState {
  readonly id: string;
  /** JOB_STATE as squeue words it: PENDING, RUNNING, COMPLETING, COMPLETED, FAILED, TIMEOUT, … */
  readonly state: string;
  /** Why it pends or ended (Resources, Priority, NonZeroExitCode, TimeLimit…); "None" when none. */
  readonly reason: string;
  readonly partition: string;
  readonly nodes: string;
  /** The job's wait status (exit code << 8 | signal), as squeue's exit_code gives it. */
  readonly waitStatus: number;
  /** Its time limit in seconds; undefined when unlimited. */
  readonly limitSeconds: number | undefined;
}

export interface SlurmNode {
  readonly name: string;
  /** The host the node's slurmd runs on (NodeHostname). */
  readonly hostname: string;
  readonly cpus: number;
  readonly memoryMb: number;
  /** Whole GPUs its GRES declare. */
  readonly gpus: number;
}

export interface SlurmPartition {
  readonly name: string;
  readonly isDefault: boolean;
  /** MaxTime in seconds; undefined when unlimited. */
  readonly maxSeconds: number | undefined;
}

/** One of our jobs, found by its comment (for recovery after a crash). */
export interface SlurmJobSummary {
  readonly id: string;
  readonly state: string;
  readonly comment: string;
}

export interface SlurmCliOptions {
  /** Folder of Slurm's commands; undefined: PATH. */
  readonly binDir?: string | undefined;
  /** SLURM_CONF for every command; undefined: the engine's own (or Slurm's default). */
  readonly slurmConf?: string | undefined;
}

const SQUEUE_FIELDS = "JobID:|,State:|,Reason:|,Partition:|,NodeList:|,exit_code:|,TimeLimit:|";
/** Generous: a busy controller answers slowly, and a command that gave up would lose a job. */
const TIMEOUT_MS = 120_000;

/**
 * The one adapter to Slurm: its commands (sbatch, squeue, scancel, sinfo, sacct) as typed
 * calls. Everything pipebook knows of a cluster comes through here, in the words Slurm's own
 * tools use, so it works wherever a user can submit from a shell.
 */
export class SlurmCli {
  constructor(private readonly options: SlurmCliOptions = {}) {}

  /** Where the commands come from, for sentences. */
  get where(): string {
    return this.options.binDir ? `in ${this.options.binDir}` : "on this machine's PATH";
  }

  /**
   * Submits a batch script: `args` are sbatch's options, `env` the job's whole environment
   * (sbatch exports it to the job). Resolves to the job id.
   */
  async submit(args: readonly string[], script: string, env: Readonly<Record<string, string>>): Promise<string> {
    const out = await this.run("sbatch", ["--parsable", ...args, script], env);
    const id = out.trim().split(";")[0] ?? "";
    if (!/^\d+$/.test(id)) throw new SlurmCommandError("refused", "sbatch", `answered "${out.trim()}" instead of a job id`);
    return id;
  }

  /** Asks Slurm whether it would ever run a job with these options, without submitting one. */
  async testOnly(args: readonly string[]): Promise<void> {
    await this.run("sbatch", ["--test-only", ...args, "--wrap=true"]);
  }

  /**
   * The state of these jobs in one call. A job the controller no longer knows (purged after
   * MinJobAge, or never ours) is absent from the map.
   */
  async jobs(ids: readonly string[]): Promise<Map<string, SlurmJobState>> {
    const states = new Map<string, SlurmJobState>();
    if (ids.length === 0) return states;
    let out: string;
    try {
      out = await this.run("squeue", ["-h", "--states=all", `--jobs=${ids.join(",")}`, "-O", SQUEUE_FIELDS]);
    } catch (err) {
      // squeue fails when none of the ids is known any more: that is an answer, not an error.
      if (err instanceof SlurmCommandError && /Invalid job id/i.test(err.detail)) return states;
      throw err;
    }
    for (const line of out.split("\n")) {
      const [id, state, reason, partition, nodes, status, limit] = line.split("|");
      if (!id || !state) continue;
      states.set(id.trim(), {
        id: id.trim(), state: state.trim(), reason: (reason ?? "").trim(), partition: (partition ?? "").trim(),
        nodes: (nodes ?? "").trim(), waitStatus: Number((status ?? "").trim()) || 0, limitSeconds: parseSlurmTime(limit ?? ""),
      });
    }
    return states;
  }

  /** A finished job from accounting, where the cluster keeps it (sacct); undefined where it does not. */
  async accounted(id: string): Promise<Pick<SlurmJobState, "state" | "waitStatus" | "reason" | "nodes"> | undefined> {
    let out: string;
    try {
      out = await this.run("sacct", ["-n", "-P", "-X", `--jobs=${id}`, "--format=State,ExitCode,Reason,NodeList"]);
    } catch {
      return undefined;
    }
    const [state, exit, reason, nodes] = (out.split("\n")[0] ?? "").split("|");
    if (!state) return undefined;
    // sacct words it "CANCELLED by 1000" and "code:signal".
    const [code, signal] = (exit ?? "0:0").split(":").map(Number);
    return { state: state.split(" ")[0]!, waitStatus: ((code ?? 0) << 8) | (signal ?? 0), reason: reason ?? "", nodes: nodes ?? "" };
  }

  /** This user's jobs that have not ended, with their comments; `timeoutMs` bounds a wait on an unreachable controller. */
  async activeJobs(timeoutMs = TIMEOUT_MS): Promise<SlurmJobSummary[]> {
    const states = "PENDING,RUNNING,SUSPENDED,CONFIGURING,REQUEUED,REQUEUE_HOLD,RESIZING,SIGNALING,STAGE_OUT,STOPPED";
    const out = await this.run("squeue", ["-h", "--me", `--states=${states}`, "-O", "JobID:|,State:|,Comment:|"], undefined, timeoutMs);
    const jobs: SlurmJobSummary[] = [];
    for (const line of out.split("\n")) {
      const [id, state, comment] = line.split("|");
      if (id?.trim() && state) jobs.push({ id: id.trim(), state: state.trim(), comment: (comment ?? "").trim() });
    }
    return jobs;
  }

  /** scancel: Slurm signals the job's processes (SIGTERM, then SIGKILL after KillWait) and frees its resources. */
  async cancel(id: string): Promise<void> {
    await this.run("scancel", [id]);
  }

  async partitions(): Promise<SlurmPartition[]> {
    const out = await this.run("sinfo", ["-h", "-o", "%P|%l"]);
    const parts: SlurmPartition[] = [];
    for (const line of out.split("\n")) {
      const [name, limit] = line.split("|");
      if (!name) continue;
      parts.push({ name: name.replace(/\*$/, ""), isDefault: name.endsWith("*"), maxSeconds: parseSlurmTime(limit ?? "") });
    }
    return parts;
  }

  /** The nodes of a partition that the controller knows (cloud nodes not yet powered are absent). */
  async nodes(partition: string): Promise<SlurmNode[]> {
    const out = await this.run("sinfo", ["-h", "-N", `--partition=${partition}`, "-o", "%N|%n|%c|%m|%G"]);
    const nodes = new Map<string, SlurmNode>();
    for (const line of out.split("\n")) {
      const [name, hostname, cpus, memory, gres] = line.split("|");
      if (!name) continue;
      nodes.set(name, { name, hostname: hostname || name, cpus: Number(cpus) || 0, memoryMb: Number(memory) || 0, gpus: gpusOf(gres ?? "") });
    }
    return [...nodes.values()];
  }

  private run(command: string, args: readonly string[], env?: Readonly<Record<string, string>>, timeoutMs = TIMEOUT_MS): Promise<string> {
    const file = this.options.binDir ? join(this.options.binDir, command) : command;
    const conf = this.options.slurmConf ?? (env ?? process.env)["SLURM_CONF"];
    // Without a file, Slurm's commands retry for a minute before they give up: say so at once.
    if (conf !== undefined && !existsSync(conf)) {
      return Promise.reject(new SlurmCommandError("unreachable", command, `its configuration file ${conf} does not exist`));
    }
    const base = env ?? process.env;
    return new Promise((resolve, reject) => {
      execFile(
        file, [...args],
        { env: { ...base, ...(conf !== undefined && { SLURM_CONF: conf }) }, timeout: timeoutMs, maxBuffer: 64 * 2 ** 20, encoding: "utf8" },
        (err, stdout, stderr) => {
          if (!err) return resolve(stdout);
          const code = (err as NodeJS.ErrnoException).code;
          if (code === "ENOENT") return reject(new SlurmCommandError("missing", command, `${command} is not installed ${this.where}`));
          if (err.killed) return reject(new SlurmCommandError("unreachable", command, `gave no answer in ${timeoutMs / 1000} s`));
          const detail = slurmMessage(stderr) || slurmMessage(stdout) || err.message;
          reject(new SlurmCommandError(isUnreachable(detail) ? "unreachable" : "refused", command, detail));
        },
      );
    });
  }
}

/** The line of a command's output that says what is wrong, without the "sbatch: error:" prefixes. */
function slurmMessage(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  const errors = lines.filter((l) => /error|fatal|failure|unable|invalid/i.test(l));
  const line = errors.at(-1) ?? lines.at(-1) ?? "";
  return line.replace(/^(?:[\w-]+: )?(?:error|fatal): /i, "");
}

function isUnreachable(detail: string): boolean {
  return /Unable to contact slurm controller|Could not establish a configuration source|Unable to process configuration file|Communication connection failure|Socket timed out|Zero Bytes were transmitted|munge|credential/i.test(detail);
}

/** Whole GPUs in a node's GRES: "gpu:2", "gpu:a100:4(S:0-1)", "gpu:a100:2,gpu:v100:1". */
export function gpusOf(gres: string): number {
  let total = 0;
  for (const m of gres.matchAll(/(?:^|,)gpu(?::[^:,(]+)?:(\d+)/g)) total += Number(m[1]);
  return total;
}

/** Slurm's time words ("infinite", "30:00", "1-12:00:00", "UNLIMITED") in seconds; undefined: no limit. */
export function parseSlurmTime(text: string): number | undefined {
  const t = text.trim();
  if (t === "" || /^(infinite|unlimited|n\/a)$/i.test(t)) return undefined;
  const [days, rest] = t.includes("-") ? [Number(t.split("-")[0]), t.split("-")[1]!] : [0, t];
  const parts = rest.split(":").map(Number);
  // "M", "M:S", "H:M:S"; with days, "D-H", "D-H:M", "D-H:M:S".
  const [h, m, s] = t.includes("-") ? [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0] : parts.length === 3 ? [parts[0]!, parts[1]!, parts[2]!] : [0, parts[0] ?? 0, parts[1] ?? 0];
  return ((days * 24 + h) * 60 + m) * 60 + s;
}
