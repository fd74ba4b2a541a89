import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type * as Pipebook from "pipebook";
import { MagicError } from "../magics/magicError.js";
import { SCRIPT_NAME, type StepCellSpec } from "./stepCellSpec.js";

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

  constructor(private readonly loadPipebook: () => Promise<PipebookModule>) {}

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
    if (this.#specs.size === 0) throw new MagicError("pipeline", "this notebook has no %%step cells yet: run some first");
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
        if (!(d instanceof pb.PipelineData)) throw new MagicError("step", `step ${s.name}: output "${o}" is a ${d instanceof pb.DataReference ? "DataReference" : "dataset"} in this notebook; outputs must be PipelineData`);
        return d;
      });
      const parameters = Object.entries(s.params).map(([n, v]) => {
        const p = params.get(n) ?? new pb.PipelineParameter(n, v);
        params.set(n, p);
        return p;
      });
      const common = {
        name: s.name, inputs: s.inputs.map(dataNamed), outputs, computeTarget: s.compute, allowReuse: s.allowReuse, parameters,
        sourceDirectory: this.folderOf(ws, s.name),
      };
      switch (s.lang) {
        case "python": steps.push(new pb.PythonScriptStep({ ...common, scriptName: SCRIPT_NAME.python })); break;
        case "ts": steps.push(new pb.NodeScriptStep({ ...common, scriptName: SCRIPT_NAME.ts })); break;
        case "shell": steps.push(new pb.CommandStep({ ...common, command: ["bash", SCRIPT_NAME.shell] })); break;
        default: { const never: never = s.lang; throw new Error(`unknown language ${String(never)}`); }
      }
    }
    return new pb.Pipeline(ws, { steps });
  }
}
