import { join } from "node:path";
import { Module } from "../dsl/Module.js";
import { Workspace } from "../workspace/Workspace.js";
import { openRunHistory } from "../workspace/openRunHistory.js";
import { readStepSnapshot, writeStepSnapshot } from "../artifacts/stepSnapshot.js";
import { CliError } from "./CliFailure.js";
import { bytes, table } from "./format.js";
import { findRun } from "./findRun.js";

/** `pipebook modules [NAME]`: modules with their default and latest versions, or one module's versions. */
export async function modulesCommand(name: string | undefined): Promise<void> {
  const ws = await Workspace.fromConfig();
  try {
    if (name === undefined) {
      const modules = Module.list(ws);
      if (modules.length === 0) return void process.stdout.write(`no modules in ${ws.dir}\n`);
      const rows = modules.map((m) => {
        const versions = ws.modules.versions(m.name);
        return [m.name, m.state, m.defaultVersion ?? "", versions.at(-1)?.version ?? "", String(versions.length), m.description];
      });
      process.stdout.write(`${table(["module", "state", "default", "latest", "versions", "description"], rows)}\n`);
      return;
    }
    const m = await Module.get(ws, name);
    const rows = m.versions().map((v) => {
      const d = v.definition;
      const program = d.scriptName ?? (typeof d.command === "string" ? d.command : JSON.stringify(d.command));
      const ports = [...d.inputs.map((p) => `in:${p}`), ...d.outputs.map((p) => `out:${p}`)].join(" ");
      return [v.version + (v.version === m.defaultVersion ? " *" : ""), v.state, d.kind, program, ports, v.digest.slice(0, 12), v.createdAt.replace("T", " ").slice(0, 19), v.description];
    });
    process.stdout.write(`module ${m.name}${m.description ? ` — ${m.description}` : ""}${m.state === "active" ? "" : ` [${m.state}]`} (* default)\n${table(["version", "state", "kind", "program", "ports", "digest", "published", "description"], rows)}\n`);
  } finally {
    await ws.close();
  }
}

/** `pipebook snapshot RUN STEP [--out DIR]`: lists a step's snapshot, or writes it into DIR. */
export async function snapshotCommand(id: string, step: string, options: { out?: string }): Promise<void> {
  const ws = await openRunHistory();
  try {
    const runId = await findRun(ws, id);
    const blobs = join(ws.dir, "blobs");
    const snapshot = await readStepSnapshot(ws.runs, blobs, runId, step);
    if (options.out !== undefined) {
      const written = await writeStepSnapshot(blobs, snapshot, options.out);
      process.stdout.write(`wrote ${written.length} file${written.length === 1 ? "" : "s"} of step ${step} (run ${runId}) to ${options.out}\n`);
      return;
    }
    if (snapshot.files.length === 0) {
      if (snapshot.manifest === undefined) throw new CliError({ reason: "snapshot-none", runId, step });
      return void process.stdout.write(`the snapshot of step ${step} (run ${runId}) holds no files\n`);
    }
    const from = snapshot.module ? ` (module ${snapshot.module.name} version "${snapshot.module.version}")` : "";
    const total = snapshot.files.reduce((n, f) => n + f.size, 0);
    process.stdout.write(`step ${step} of run ${runId}${from}: ${snapshot.files.length} files, ${bytes(total)}\n`);
    process.stdout.write(`${table(["file", "size", "digest"], snapshot.files.map((f) => [f.path, bytes(f.size), f.digest.slice(0, 12)]))}\n`);
  } finally {
    ws.close();
  }
}
