import { z } from "zod";
import { whyPipebookSets } from "./sbatchOwnOptions.js";

/**
 * pipebook.json's schema. Apart from workspaceConfig.ts so that zod (95 modules) loads only when a
 * config needs more than the plain check there, or a compute target is attached.
 */
/** The machine the engine runs on; `local` is always there, more can be named (with other settings later). */
export const LocalTargetSchema = z.strictObject({ kind: z.literal("local") });

/**
 * Steps in containers of a docker engine on this machine (binds need the engine to see the
 * workspace's files; a GPU machine elsewhere is what `pipebook agent` is for).
 */
export const DockerTargetSchema = z.strictObject({
  kind: z.literal("docker"),
  /** The engine's socket, `unix:///path` (default: DOCKER_HOST, else /var/run/docker.sock). */
  host: z.string().regex(/^unix:\/\/\/./, "must be a unix socket URL such as unix:///var/run/docker.sock").optional(),
  /** Image for steps whose environment names none (a Python step with pipPackages gets an image derived from it). */
  image: z.string().min(1).optional(),
  /** Container network: "none" isolates steps; default: the engine's default (bridge). */
  network: z.string().min(1).optional(),
});

export type DockerTargetConfig = z.infer<typeof DockerTargetSchema>;

/**
 * Steps as batch jobs of a Slurm cluster this machine can submit to (sbatch on PATH, or
 * SLURM_CONF). Slurm queues them: pipebook hands each ready step over at once.
 */
export const SlurmTargetSchema = z.strictObject({
  kind: z.literal("slurm"),
  /** Default: the cluster's default partition. */
  partition: z.string().min(1).optional(),
  account: z.string().min(1).optional(),
  qos: z.string().min(1).optional(),
  /** More sbatch arguments, one argv element each: ["--constraint=a100", "--exclusive"]. */
  sbatchOptions: z
    .array(z.string().min(1))
    .superRefine((args, ctx) => {
      for (const arg of args) {
        const why = whyPipebookSets(arg);
        if (why) ctx.addIssue({ code: "custom", message: `${arg} cannot be given: ${why}` });
      }
    })
    .optional(),
  /**
   * An absolute folder on a file system every node sees at the same path. Step data (code,
   * inputs, outputs, logs) is copied there and outputs are brought back. Unset: steps read and
   * write the workspace's own folders in place, so the workspace must be on such a file system.
   */
  stagingDir: z.string().regex(/^\//, "must be an absolute path").optional(),
  /**
   * Says the staging folder (or the workspace) is on a file system the nodes share although
   * pipebook does not recognise it as one (it knows NFS, Lustre, GPFS, BeeGFS, CephFS, SMB and the like).
   */
  sharedFileSystem: z.literal(true).optional(),
  /** Folder of Slurm's commands (sbatch, squeue, scancel, sinfo) where they are not on PATH (a kernel started by a service). */
  binDir: z.string().regex(/^\//, "must be an absolute path").optional(),
  /** Slurm's configuration file, for a cluster other than this machine's default (else SLURM_CONF, else Slurm's own default). */
  slurmConf: z.string().regex(/^\//, "must be an absolute path").optional(),
});

export type SlurmTargetConfig = z.infer<typeof SlurmTargetSchema>;

/**
 * A pool of `pipebook agent`s (GPU machines that dial out to `pipebook serve`): the agents whose
 * labels include all of these. Only a server has agents; docs/agents.md.
 */
export const RemoteTargetSchema = z.strictObject({
  kind: z.literal("remote"),
  labels: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, "must be letters, digits, '_', '.' or '-'"), z.string().min(1)).default({}),
});

export type RemoteTargetConfig = z.infer<typeof RemoteTargetSchema>;
export type ComputeTargetConfig = z.infer<typeof LocalTargetSchema> | DockerTargetConfig | SlurmTargetConfig | RemoteTargetConfig;

/** A datastore on a local folder (relative paths: to the project folder). */
export const LocalDatastoreSchema = z.strictObject({ kind: z.literal("local"), path: z.string().min(1) });

const ENV_VAR = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be the name of an environment variable holding the secret, never the secret itself");

/** A datastore on an Azure Blob container; credentials only by the environment variable holding them. */
export const AzureBlobDatastoreSchema = z.strictObject({
  kind: z.literal("azure-blob"),
  accountName: z.string().regex(/^[a-z0-9]{3,24}$/, "must be 3–24 lowercase letters and digits"),
  containerName: z.string().regex(/^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/, "must be 3–63 lowercase letters, digits and single hyphens"),
  endpoint: z.string().regex(/^https?:\/\/\S+$/, "must be an http(s) URL").optional(),
  connectionStringEnv: ENV_VAR.optional(),
  accountKeyEnv: ENV_VAR.optional(),
  sasTokenEnv: ENV_VAR.optional(),
});

/** `pipebook.json`: what a project says about its workspace. Every field is optional. */
export const WorkspaceConfigSchema = z.strictObject({
  /** Shown in lists; defaults to the folder name. */
  name: z.string().min(1).optional(),
  /** Where the embedded store lives, relative to the config file (default ".pipebook"). */
  storeDir: z.string().min(1).optional(),
  /** Steps running at once (default: the machine's cores); steps on a slurm target are Slurm's to queue and do not count. */
  concurrency: z.number().int().positive().optional(),
  /** Named compute targets besides the built-in "local". */
  computeTargets: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/),
      z.discriminatedUnion("kind", [LocalTargetSchema, DockerTargetSchema, SlurmTargetSchema, RemoteTargetSchema]),
    )
    .optional(),
  /** Named datastores besides the built-in "workspaceblobstore" (docs/datastores.md). */
  datastores: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,254}$/, "must start with a letter or _ and hold only letters, digits and _"),
      z.discriminatedUnion("kind", [LocalDatastoreSchema, AzureBlobDatastoreSchema]),
    )
    .optional(),
  /**
   * A `pipebook serve` to submit runs to instead of running them here (docs/remote.md); the
   * token comes from PIPEBOOK_TOKEN or `tokenFile`, never from this file.
   */
  server: z.string().regex(/^https?:\/\/\S+$/, "must be an http:// or https:// URL").optional(),
  /** A file holding the server's token (relative to this file's folder). */
  tokenFile: z.string().min(1).optional(),
  /** The datastore `ws.getDefaultDatastore()` gives (default "workspaceblobstore"). */
  defaultDatastore: z.string().min(1).optional(),
});

export type WorkspaceConfig = z.infer<typeof WorkspaceConfigSchema>;
