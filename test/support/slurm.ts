// The run's Slurm cluster (started by globalSetup.ts through slurmCluster.ts), for test files.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { inject } from "vitest";
import type { SlurmClusterStatus } from "./slurmCluster.js";

const exec = promisify(execFile);
const START_WAIT_MS = 120_000;

/**
 * The cluster once it is up. Throws its reason when it could not start, so Slurm tests fail
 * loudly instead of skipping.
 */
export async function slurmCluster(): Promise<SlurmClusterStatus> {
  const file = inject("slurmStatus");
  if (!file) throw new Error("no Slurm cluster for this test run: is test/support/globalSetup.ts the vitest globalSetup?");
  const deadline = Date.now() + START_WAIT_MS;
  for (;;) {
    const status = JSON.parse(await readFile(file, "utf8")) as SlurmClusterStatus;
    if (status.state === "ready") return status;
    if (status.state === "failed") throw new Error(`the test run's Slurm cluster did not start: ${status.error ?? "unknown error"}`);
    if (Date.now() > deadline) throw new Error(`the test run's Slurm cluster is still starting after ${START_WAIT_MS / 1000} s (see ${status.dir})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs a Slurm command against the cluster; resolves to stdout, rejects with stderr. */
export async function slurm(cluster: SlurmClusterStatus, command: string, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await exec(command, args, { env: { ...process.env, SLURM_CONF: cluster.conf } });
    return stdout;
  } catch (e) {
    const { stderr, message } = e as { stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")} failed: ${stderr?.trim() || message}`);
  }
}

/** Jobs the cluster still knows, with state and comment (completed ones stay listed for MinJobAge). */
export async function jobs(cluster: SlurmClusterStatus): Promise<{ id: string; state: string; name: string; comment: string }[]> {
  const out = await slurm(cluster, "squeue", "-h", "--states=all", "-O", "JobID:|,State:|,Name:|,Comment:|");
  return out.split("\n").filter(Boolean).map((line) => {
    const [id = "", state = "", name = "", comment = ""] = line.split("|").map((f) => f.trim());
    return { id, state, name, comment };
  });
}
