// One real Slurm cluster per `vitest run`: munged, slurmctld and slurmd from Debian's packages,
// each with its own files under a temp folder, on free ports, with two stand-in GPUs declared as
// GRES (real GRES scheduling without a GPU). Started in the background by globalSetup.ts; tests
// wait for it through a status file and fail with its reason when it could not start.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, rename, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);
const RUN_PREFIX = "pbs-";

/** What the status file says; tests read it through test/support/slurm.ts. */
export interface SlurmClusterStatus {
  state: "starting" | "ready" | "failed";
  /** slurm.conf of the cluster (for SLURM_CONF or a target's slurmConf). */
  conf: string;
  /** The node: this machine's short host name. */
  node: string;
  /** Partition of this machine (the default), and one whose only node is elsewhere (never up). */
  partition: string;
  remotePartition: string;
  /** The cluster's folder: daemons' logs are there. */
  dir: string;
  error?: string;
}

export interface SlurmClusterHandle {
  readonly statusFile: string;
  /** Settles when the cluster is up or has failed (never rejects). */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Makes the cluster's folder and status file (milliseconds), then starts the daemons in the
 * background (a few seconds); tests wait for the status to say ready.
 */
export async function startSlurmCluster(): Promise<SlurmClusterHandle> {
  await sweepDeadRuns().catch(() => undefined);
  const node = hostname().split(".")[0]!;
  const dir = await mkdtemp(`/tmp/${RUN_PREFIX}${process.pid}-`);
  const statusFile = join(dir, "slurm-status.json");
  const status = (s: Partial<SlurmClusterStatus>): Promise<void> => writeStatus(statusFile, {
    state: "starting", conf: join(dir, "slurm.conf"), node, partition: "debug", remotePartition: "remote", dir, ...s,
  });
  await status({});
  let daemons: Daemons | undefined;
  const ready = (async () => {
    try {
      const t0 = Date.now();
      daemons = await startDaemons(dir, node);
      if (process.env.PIPEBOOK_TEST_TIMINGS) console.log(`[slurm] cluster up in ${Date.now() - t0} ms`);
      await status({ state: "ready" });
    } catch (e) {
      await status({ state: "failed", error: e instanceof Error ? e.message : String(e) });
    }
  })();
  return {
    statusFile,
    ready,
    async stop() {
      await ready;
      await daemons?.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

interface Daemons {
  stop(): Promise<void>;
}

async function startDaemons(dir: string, node: string): Promise<Daemons> {
  if (process.getuid?.() !== 0) throw new Error("slurm tests need root: this run starts its own munged, slurmctld and slurmd");
  for (const bin of ["/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch"]) {
    if (!existsSync(bin)) throw new Error(`${bin} is not installed: run \`npm run bootstrap\` as root (Debian packages slurm-wlm, munge)`);
  }
  // munged refuses a socket in a folder others cannot traverse (mkdtemp makes it 0700).
  await chmod(dir, 0o755);
  for (const d of ["munge", "state", "spool"]) await mkdir(join(dir, d), { recursive: true, mode: 0o755 });
  const key = join(dir, "munge", "munge.key");
  await writeFile(key, randomBytes(1024));
  await chmod(key, 0o400);
  const socket = join(dir, "munge", "munge.sock");
  await exec("/usr/sbin/munged", [
    `--key-file=${key}`, `--socket=${socket}`, `--pid-file=${join(dir, "munge", "munged.pid")}`,
    `--log-file=${join(dir, "munge", "munged.log")}`, `--seed-file=${join(dir, "munge", "munged.seed")}`,
  ]);
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  const conf = join(dir, "slurm.conf");
  await writeFile(conf, [
    `ClusterName=pbtest${process.pid}`,
    `SlurmctldHost=${node}`,
    "AuthType=auth/munge", `AuthInfo=socket=${socket}`, "CredType=cred/munge",
    "SlurmUser=root", "SlurmdUser=root",
    `StateSaveLocation=${join(dir, "state")}`, `SlurmdSpoolDir=${join(dir, "spool")}`,
    `SlurmctldPidFile=${join(dir, "slurmctld.pid")}`, `SlurmdPidFile=${join(dir, "slurmd.pid")}`,
    `SlurmctldLogFile=${join(dir, "slurmctld.log")}`, `SlurmdLogFile=${join(dir, "slurmd.log")}`,
    `SlurmctldPort=${ctldPort}`, `SlurmdPort=${slurmdPort}`,
    "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
    "SelectType=select/cons_tres", "ReturnToService=2", "AccountingStorageType=accounting_storage/none", "MpiDefault=none",
    // Memory is a resource Slurm grants and enforces (a job without --mem gets 200 MB a CPU):
    // without cgroups here, slurmstepd reads each step's memory every second and kills it over its --mem.
    "SelectTypeParameters=CR_Core_Memory", "DefMemPerCPU=200",
    "JobAcctGatherType=jobacct_gather/linux", "JobAcctGatherParams=OverMemoryKill", "JobAcctGatherFrequency=task=1",
    // Jobs that ignore SIGTERM are killed 5 s after a cancel, not 30: teardown stays short.
    "KillWait=5",
    "GresTypes=gpu",
    `NodeName=${node} CPUs=2 RealMemory=4000 Gres=gpu:2 State=UNKNOWN`,
    // A node that never comes up: its partition stands for nodes that are not this machine.
    "NodeName=ghost CPUs=2 RealMemory=4000 State=FUTURE",
    `PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP`,
    "PartitionName=remote Nodes=ghost MaxTime=INFINITE State=UP",
    "",
  ].join("\n"));
  // Stand-in devices: Slurm hands their indexes out as CUDA_VISIBLE_DEVICES.
  await writeFile(join(dir, "gres.conf"), "Name=gpu File=/dev/tty1\nName=gpu File=/dev/tty2\n");
  const env = { ...process.env, SLURM_CONF: conf };
  const daemons: Daemons = { stop: () => stopDaemons(dir, conf) };
  try {
    await exec("/usr/sbin/slurmctld", ["-f", conf], { env, cwd: dir });
    await exec("/usr/sbin/slurmd", ["-f", conf], { env, cwd: dir });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const { stdout } = await exec("sinfo", ["-h", "-N", "-p", "debug", "-o", "%T"], { env }).catch(() => ({ stdout: "" }));
      if (stdout.trim() === "idle") return daemons;
      if (Date.now() > deadline) throw new Error(`the node did not become idle in 30 s (sinfo says "${stdout.trim()}"); slurmctld.log ends:\n${tail(join(dir, "slurmctld.log"), 20)}\nslurmd.log ends:\n${tail(join(dir, "slurmd.log"), 20)}`);
      await sleep(100);
    }
  } catch (e) {
    await daemons.stop();
    throw e;
  }
}

/** Cancels every job, waits for them to go, then stops the daemons and anything of the cluster left. */
async function stopDaemons(dir: string, conf: string): Promise<void> {
  const env = { ...process.env, SLURM_CONF: conf };
  if (alive(pidFrom(join(dir, "slurmctld.pid")))) {
    const { stdout } = await exec("squeue", ["-h", "-o", "%i"], { env, timeout: 10_000 }).catch(() => ({ stdout: "" }));
    const ids = stdout.split("\n").map((s) => s.trim()).filter(Boolean);
    if (ids.length > 0) await exec("scancel", ids, { env, timeout: 10_000 }).catch(() => undefined);
    for (let i = 0; i < 100; i++) {
      const { stdout: left } = await exec("squeue", ["-h", "-o", "%i"], { env, timeout: 10_000 }).catch(() => ({ stdout: "" }));
      if (!left.trim()) break;
      await sleep(100);
    }
  }
  for (const file of ["slurmd.pid", "slurmctld.pid", join("munge", "munged.pid")]) await stopPid(pidFrom(join(dir, file)), dir);
  await killProcessesOf(conf);
}

/** Stops a daemon of this cluster (its command line names the cluster's folder: a stale pid file never kills another process). */
async function stopPid(pid: number | undefined, dir: string): Promise<void> {
  if (!alive(pid)) return;
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, "latin1").includes(dir)) return;
  } catch {
    return;
  }
  process.kill(pid!, "SIGTERM");
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
  if (alive(pid)) process.kill(pid!, "SIGKILL");
}

/** slurmstepd and job processes carry SLURM_CONF=<our conf>: none may outlive the cluster. */
async function killProcessesOf(conf: string): Promise<void> {
  const mark = `SLURM_CONF=${conf}\0`;
  for (const entry of await readdir("/proc").catch(() => [])) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, "latin1").includes(mark)) process.kill(pid, "SIGKILL");
    } catch {
      // Gone, or not ours to read.
    }
  }
}

/** Clusters of killed test runs: their daemons and folders. */
async function sweepDeadRuns(): Promise<void> {
  for (const name of await readdir("/tmp").catch(() => [])) {
    const pid = new RegExp(`^${RUN_PREFIX}(\\d+)-`).exec(name)?.[1];
    if (!pid || alive(Number(pid))) continue;
    const dir = join("/tmp", name);
    await stopDaemons(dir, join(dir, "slurm.conf")).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

function pidFrom(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, "utf8").trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function writeStatus(file: string, status: SlurmClusterStatus): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify(status));
  await rename(`${file}.tmp`, file);
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
