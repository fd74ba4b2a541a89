import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync } from "node:fs";
import { chmod, cp, readdir, rename, rm } from "node:fs/promises";
import { basename, join, relative } from "node:path";
import type { JobIO } from "../Compute.js";
import { RUNTIME_DIR } from "../resolveJob.js";
import { unsealTree } from "../../datasets/readOnlyTree.js";
import type { StepJob } from "../StepJob.js";

/** Slurm's files in a job's folder. */
export const SLURM_FILES = { script: "job.sh", stdout: "slurm-stdout.log", stderr: "slurm-stderr.log" } as const;

/** Where one job's files are, as the node sees them (the same paths the engine sees). */
export interface StagedJob {
  /** The job's own folder: script, Slurm's output files, metrics. */
  readonly jobDir: string;
  /** The step's working folder: its code. */
  readonly workDir: string;
  readonly inputs: ReadonlyMap<string, string>;
  readonly outputs: ReadonlyMap<string, string>;
  readonly metricsFile: string;
  /** pipebook_run helpers. */
  readonly runtimeDir: string;
  /** After a successful end: the outputs where the engine collects them. */
  bringBack(): Promise<void>;
  /** Removes what was staged for this job alone (shared copies of inputs stay, by digest). */
  cleanUp(): Promise<void>;
}

/**
 * Lays a job's files out where the cluster's nodes see them. In place (no staging folder): the
 * workspace is on a shared file system, so the job reads inputs where they are and writes its
 * outputs straight into the engine's output folders, and nothing is copied. Staged: code, inputs
 * and helpers are copied under the staging folder (inputs once per content digest, read-only),
 * outputs written there and copied back after the job succeeded.
 */
export class SlurmStaging {
  private runtime: Promise<string> | undefined;

  /**
   * `stagingRoot`: this workspace's folder under the target's stagingDir, or undefined to work in
   * place. `helpersRoot`: where the pipebook_run helpers are copied (a shared folder either way).
   */
  constructor(
    private readonly stagingRoot: string | undefined,
    private readonly helpersRoot: string,
  ) {}

  get inPlace(): boolean {
    return this.stagingRoot === undefined;
  }

  async stage(job: StepJob, io: JobIO): Promise<StagedJob> {
    const root = this.stagingRoot;
    // In place, the step's own folder on the engine's side, as a local step's: work/ beside its logs.
    const jobDir = root === undefined ? io.stepDir : join(root, "runs", job.runId, job.stepName);
    const workDir = join(jobDir, "work");
    mkdirSync(workDir, { recursive: true });
    const runtimeDir = await this.runtimeCopy();
    await io.materializeSnapshot(workDir);
    if (job.kind === "node") {
      mkdirSync(join(workDir, "node_modules"), { recursive: true });
      symlinkSync(join(runtimeDir, "node", "pipebook_run"), join(workDir, "node_modules", "pipebook_run"), "dir");
    }

    const inputs = new Map<string, string>();
    for (const input of job.inputs) {
      if (input.layout === "download") {
        // The step's own writable copy of a dataset, next to its code.
        const own = statSync(input.source).isDirectory() ? join(workDir, "datasets", input.name) : join(workDir, "datasets", input.name, basename(input.source));
        await cp(input.source, own, { recursive: true });
        await unsealTree(join(workDir, "datasets", input.name)); // copied from a sealed shared layout
        inputs.set(input.name, own);
      } else {
        inputs.set(input.name, root === undefined ? input.source : await this.stageInput(root, input.digest, input.source));
      }
    }

    const outputs = new Map<string, string>();
    for (const name of job.outputs) {
      if (root === undefined) {
        outputs.set(name, io.outputDir(name));
      } else {
        const dir = join(jobDir, "outputs", name);
        mkdirSync(dir, { recursive: true });
        outputs.set(name, dir);
      }
    }

    return {
      jobDir, workDir, inputs, outputs, runtimeDir, metricsFile: join(jobDir, "metrics.jsonl"),
      bringBack: async () => {
        if (root === undefined) return;
        for (const [name, dir] of outputs) await cp(dir, io.outputDir(name), { recursive: true });
      },
      cleanUp: async () => {
        // Slurm's output files were copied into the step's logs as they came. In place, the
        // working copy stays as a local step's does; staged, the job's folder goes.
        if (root !== undefined) return rm(jobDir, { recursive: true, force: true });
        await Promise.all([SLURM_FILES.stdout, SLURM_FILES.stderr].map((f) => rm(join(jobDir, f), { force: true })));
      },
    };
  }

  /** `<root>/data/<digest>/<name>`: copied once per content, then shared by every job that reads it. */
  private async stageInput(root: string, digest: string, source: string): Promise<string> {
    const key = digest.replace(/[^A-Za-z0-9]/g, "");
    const dir = join(root, "data", key);
    const path = join(dir, basename(source));
    if (existsSync(path)) return path;
    const tmp = `${dir}.${randomBytes(4).toString("hex")}.tmp`;
    mkdirSync(tmp, { recursive: true });
    try {
      await cp(source, join(tmp, basename(source)), { recursive: true });
      await readOnly(join(tmp, basename(source)));
      await rename(tmp, dir).catch(() => undefined);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    return path;
  }

  /** The pipebook_run helpers in a folder named by their content, copied once. */
  private runtimeCopy(): Promise<string> {
    this.runtime ??= (async () => {
      const source = RUNTIME_DIR.replace(/\/$/, "");
      const dir = join(this.helpersRoot, "runtime", contentHash(source));
      if (existsSync(dir)) return dir;
      const tmp = `${dir}.${randomBytes(4).toString("hex")}.tmp`;
      try {
        await cp(source, tmp, { recursive: true });
        await rename(tmp, dir).catch(() => undefined);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
      return dir;
    })();
    this.runtime.catch(() => (this.runtime = undefined));
    return this.runtime;
  }
}

/** Files lose their write bits: a job that writes into a staged input fails instead of changing it for the next one. */
async function readOnly(path: string): Promise<void> {
  if (!statSync(path).isDirectory()) {
    await chmod(path, 0o444);
    return;
  }
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const p = join(path, entry.name);
    if (entry.isDirectory()) await readOnly(p);
    else if (entry.isFile()) await chmod(p, 0o444);
  }
}

function contentHash(dir: string): string {
  const hash = createHash("sha256");
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else hash.update(`${relative(dir, p)}\0`).update(readFileSync(p)).update("\0");
    }
  };
  walk(dir);
  return hash.digest("hex").slice(0, 16);
}
