import { Dataset, TabularDataset } from "../dsl/Dataset.js";
import { Workspace } from "../workspace/Workspace.js";
import { CliError } from "./CliFailure.js";
import { bytes, table } from "./format.js";

/** `pipebook datasets [NAME] [--version N] [--profile]`: registered datasets, their versions, a profile. */
export async function datasetsCommand(name: string | undefined, options: { version?: number; profile?: boolean }): Promise<void> {
  const ws = await Workspace.fromConfig();
  try {
    if (options.profile) {
      if (name === undefined) throw new CliError({ reason: "profile-needs-name" });
      const ds = Dataset.getByName(ws, name, options.version === undefined ? {} : { version: options.version });
      if (!(ds instanceof TabularDataset)) throw new CliError({ reason: "dataset-not-tabular", name });
      process.stdout.write(`${(await ds.profile()).toString()}\n`);
      return;
    }
    const versions = Dataset.list(ws, name === undefined ? {} : { name });
    if (versions.length === 0) return void process.stdout.write(name === undefined ? `no datasets registered in ${ws.dir}\n` : `no dataset named "${name}" is registered\n`);
    // Lineage: a version registered from a step's output names the run, step and output that made it.
    const madeBy = (v: (typeof versions)[number]): string =>
      v.lineage ? `run ${v.lineage.runId} step ${v.lineage.stepName} output ${v.lineage.output} (${v.lineage.destination.datastore}:${v.lineage.destination.path})` : "registered by hand";
    // The column shows only where a listed version came from a step.
    const lineage = versions.some((v) => v.lineage);
    const rows = versions.map((v) => [v.name, String(v.version), v.definition.kind, String(v.fileCount), bytes(v.bytes), v.createdAt.replace("T", " ").slice(0, 19), ...(lineage ? [madeBy(v)] : []), v.description]);
    process.stdout.write(`${table(["dataset", "version", "kind", "files", "size", "registered", ...(lineage ? ["made by"] : []), "description"], rows)}\n`);
  } finally {
    await ws.close();
  }
}

/** `pipebook datastores`: every datastore with its kind and where it is (never a secret: only the variable's name). */
export async function datastoresCommand(): Promise<void> {
  const ws = await Workspace.fromConfig();
  try {
    const defaultName = ws.getDefaultDatastore().name;
    const rows = [...ws.datastores.values()].map((d) => {
      const where = d.kind === "local" ? d.root : `account ${d.accountName}, container ${d.containerName}${d.config.endpoint ? ` at ${d.config.endpoint}` : ""}`;
      const credential = d.kind === "local" ? "" : `$${d.config.accountKeyEnv ?? d.config.sasTokenEnv ?? d.config.connectionStringEnv ?? "AZURE_STORAGE_CONNECTION_STRING"}`;
      return [d.name + (d.name === defaultName ? " (default)" : ""), d.kind, where, credential];
    });
    process.stdout.write(`${table(["datastore", "kind", "where", "credential"], rows)}\n`);
  } finally {
    await ws.close();
  }
}
