import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type * as Pipebook from "pipebook";
import { MagicError } from "../magics/magicError.js";
import { SCRIPT_NAME, type StepCellSpec } from "./stepCellSpec.js";
import { unreachable } from "../unreachable.js";

type PipebookModule = typeof Pipebook;

/**
 * The notebook's step cells, by step name, in the order they were first defined. Each cell's body
 * is written to `<workspace>/cells/<name>/`, which becomes the step's source directory, so the
 * cell's content is in the step's snapshot and so in its reuse key: editing a step cell reruns
 * that step (and what reads its outputs) and nothing else.
 */
export class NotebookSteps {
  readonly #specs = new Map<string, StepCellSpec>();
  #ws: Promise<Pipebook.Workspace> | undefined;

  /**
   * @param notebookDir the notebook's folder (the kernel's `dir`: Jupyter starts a kernel in its
   * notebook's folder), which relative `--find-links` folders are read from. Taken at kernel
   * start, so a cell's `process.chdir` does not move them.
   */
  constructor(private readonly loadPipebook: () => Promise<PipebookModule>, private readonly notebookDir: string = process.cwd()) {}

  workspace(): Promise<Pipebook.Workspace> {
    this.#ws ??= this.loadPipebook().then((pb) => pb.Workspace.fromConfig());
    this.#ws.catch(() => { this.#ws = undefined; });
    return this.#ws;
  }

  folderOf(ws: Pipebook.Workspace, name: string): string {
    return join(ws.root, "cells", name);
  }

  /** Writes the cell's script and records the step; checks it builds, so mistakes show at once. */
  async define(spec: StepCellSpec): Promise<{ folder: string; script: string }> {
    const ws = await this.workspace();
    const folder = this.folderOf(ws, spec.name);
    await mkdir(folder, { recursive: true });
    const script = SCRIPT_NAME[spec.lang];
    // Only this cell's script lives here: a stale script of another language would enter the snapshot.
    for (const f of await readdir(folder)) if (f.startsWith("step.") && f !== script) await rm(join(folder, f), { force: true });
    await writeFile(join(folder, script), spec.body.endsWith("\n") ? spec.body : `${spec.body}\n`);
    const next = new Map(this.#specs);
    next.set(spec.name, spec);
    await this.build(next);
    this.#specs.set(spec.name, spec);
    return { folder, script: join(folder, script) };
  }

  list(): StepCellSpec[] { return [...this.#specs.values()]; }

  /** The pipeline of all step cells, with data and parameters shared by name. */
  async pipeline(): Promise<Pipebook.Pipeline> {
    if (this.#specs.size === 0) throw new MagicError({ reason: "pipeline-empty" });
    return this.build(this.#specs);
  }

  async build(specs: ReadonlyMap<string, StepCellSpec>): Promise<Pipebook.Pipeline> {
    const pb = await this.loadPipebook();
    const ws = await this.workspace();
    const data = new Map<string, Pipebook.StepData>();
    const params = new Map<string, Pipebook.PipelineParameter>();
    const dataNamed = (name: string): Pipebook.StepData => {
      let d = data.get(name);
      if (!d) {
        // Data the notebook made in a TypeScript cell under this name: a DataReference, PipelineData,
        // dataset input, or a dataset (read under the variable's name).
        const g = (globalThis as Record<string, unknown>)[name];
        d = g instanceof pb.DataReference || g instanceof pb.PipelineData || g instanceof pb.DatasetInput ? g
          : g instanceof pb.FileDataset || g instanceof pb.TabularDataset ? g.asNamedInput(name)
            : new pb.PipelineData(name);
        data.set(name, d);
      }
      return d;
    };
    const steps: Pipebook.PipelineStep[] = [];
    for (const s of specs.values()) {
      const outputs = s.outputs.map((o) => {
        const d = dataNamed(o);
        if (!(d instanceof pb.PipelineData)) throw new MagicError({ reason: "step-output-not-pipeline-data", step: s.name, output: o, is: d instanceof pb.DataReference ? "DataReference" : "dataset" });
        return d;
      });
      const parameters = Object.entries(s.params).map(([n, v]) => {
        const p = params.get(n) ?? new pb.PipelineParameter(n, v);
        params.set(n, p);
        return p;
      });
      const common = {
        name: s.name, inputs: s.inputs.map(dataNamed), outputs, computeTarget: s.compute, allowReuse: s.allowReuse, parameters,
        sourceDirectory: this.folderOf(ws, s.name), runconfig: this.runConfiguration(pb, s),
        ...(s.timeoutSeconds !== undefined && { timeoutSeconds: s.timeoutSeconds }),
      };
      switch (s.lang) {
        case "python": steps.push(new pb.PythonScriptStep({ ...common, scriptName: SCRIPT_NAME.python })); break;
        case "ts": steps.push(new pb.NodeScriptStep({ ...common, scriptName: SCRIPT_NAME.ts })); break;
        case "shell": steps.push(new pb.CommandStep({ ...common, command: ["bash", SCRIPT_NAME.shell] })); break;
        default: unreachable(s.lang);
      }
    }
    return new pb.Pipeline(ws, { steps });
  }

  /**
   * The cell's environment and resources. Without `--image` or `--pip` the step keeps the
   * environment its language implies; with `--pip` alone it is a Python environment, which local
   * compute makes a venv and a docker target an image derived from its own.
   */
  runConfiguration(pb: PipebookModule, s: StepCellSpec): Pipebook.RunConfiguration {
    const packages = {
      pipPackages: s.pipPackages,
      findLinks: s.findLinks.map((f) => resolve(this.notebookDir, f)),
      ...(s.indexUrl !== undefined && { indexUrl: s.indexUrl }),
    };
    const environment = s.image !== undefined ? pb.Environment.docker({ image: s.image, ...packages })
      : s.pipPackages.length > 0 ? pb.Environment.python(packages)
        : undefined;
    return new pb.RunConfiguration({
      ...(environment && { environment }),
      ...(s.gpus !== undefined && { gpus: s.gpus }),
      ...(s.cpus !== undefined && { cpus: s.cpus }),
      ...(s.memoryMb !== undefined && { memoryMb: s.memoryMb }),
    });
  }
}
