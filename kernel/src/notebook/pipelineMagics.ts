import type * as Pipebook from "pipebook";
import { parseAssignments, type RunView } from "pipebook/contract";
import type { MagicRegistry } from "../magics/magicRegistry.js";
import { MagicError } from "../magics/magicError.js";
import { MIME_BUNDLE } from "../display/mimeBundle.js";
import type { NotebookSteps } from "./notebookSteps.js";
import { parseStepCell } from "./stepCellSpec.js";

/** A run that ended other than completed; the cell shows it as an error. */
export class PipelineRunFailed extends Error {
  constructor(readonly view: RunView) {
    const bad = view.steps.filter((s) => s.status === "failed").map((s) => `${s.name}: ${s.error ?? "failed"}`);
    super(`run ${view.runId} ${view.status}${bad.length ? ` (${bad.join("; ")})` : view.error ? ` (${view.error})` : ""}`);
    this.name = "PipelineRunFailed";
  }
}

export interface PipelineMagicDeps {
  readonly steps: NotebookSteps;
  readonly loadPipebook: () => Promise<typeof Pipebook>;
  /** Registers what to do if the user interrupts the cell; returns the unregister function. */
  readonly onInterrupt: (f: () => void) => () => void;
}

const text = (t: string) => ({ [MIME_BUNDLE]: () => ({ "text/plain": t }) });

/** `%%step` defines a step from a cell; `%pipeline run` submits the notebook's pipeline and waits. */
export function registerPipelineMagics(magics: MagicRegistry, d: PipelineMagicDeps): void {
  magics.cell("step", "NAME --inputs a,b --outputs c [--lang python|shell|ts] [--compute T] [--param n=v] [--pip p,q] [--find-links DIR] [--image I] [--gpus N] [--cpus N] [--memory MB] [--timeout S]: this cell is a pipeline step", async (call, body) => {
    const spec = parseStepCell(call.args, body);
    const { script } = await d.steps.define(spec);
    const io = [spec.inputs.length ? `reads ${spec.inputs.join(", ")}` : "", spec.outputs.length ? `writes ${spec.outputs.join(", ")}` : ""].filter(Boolean).join("; ");
    return text(`step ${spec.name} (${spec.lang}, ${spec.compute})${io ? `: ${io}` : ""}\n  script: ${script}`);
  });

  magics.line("pipeline", "run [EXPERIMENT] [--regenerate] [-p name=value]: submit this notebook's step cells | show: draw their graph | list", async (call) => {
    const [sub, ...rest] = call.args;
    if (sub === "list" || sub === undefined) {
      const specs = d.steps.list();
      return text(specs.length === 0 ? "no %%step cells yet" : specs.map((s) => `${s.name}  ${s.lang}  in: ${s.inputs.join(",") || "-"}  out: ${s.outputs.join(",") || "-"}`).join("\n"));
    }
    if (sub === "show") {
      // The graph before any run: every step queued, edges from the data the cells name.
      const graph = (await d.steps.pipeline()).validate();
      const view: RunView = {
        version: 1, runId: "(not submitted)", experiment: "-", status: "queued", createdAt: new Date().toISOString(), parameters: {},
        steps: graph.steps.map((st) => ({
          name: st.name, stepRunId: "", status: "queued", kind: st.kind, compute: st.computeTarget,
          inputs: st.inputs.map((i) => i.name), outputs: st.outputs.map((o) => o.name), metrics: [], outputViews: [],
        })),
        edges: graph.edges,
      };
      return view;
    }
    if (sub !== "run") throw new MagicError({ reason: "pipeline-subcommand-unknown", subcommand: sub });
    let experiment = "notebook";
    let regenerateOutputs = false;
    const paramTexts: string[] = [];
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i]!;
      if (a === "--regenerate") regenerateOutputs = true;
      else if (a === "-p" || a === "--param") {
        const kv = rest[++i];
        if (kv === undefined) throw new MagicError({ reason: "option-value-missing", magic: "pipeline", option: a });
        paramTexts.push(kv);
      } else if (!a.startsWith("-")) experiment = a;
      else throw new MagicError({ reason: "option-unknown", magic: "pipeline", option: a });
    }
    const pb = await d.loadPipebook();
    const pipeline = await d.steps.pipeline();
    // Read by each parameter's declared type, as `pipebook run -p` does: `tag=007` stays "007".
    const parsed = parseAssignments(paramTexts, pipeline.parameters, "refuse");
    if (!parsed.ok) throw new MagicError({ reason: "parameters-invalid", magic: "pipeline", problems: parsed.problems });
    const parameterAssignments = parsed.values;
    const ws = await d.steps.workspace();
    const run = await new pb.Experiment(ws, experiment).submit(pipeline, { regenerateOutputs, parameterAssignments, source: "kernel" });
    // The live display (watchSubmissions) already shows the run; here we only wait for it.
    const stop = d.onInterrupt(() => run.cancel());
    try {
      const view = await run.waitForCompletion();
      if (view.status !== "completed") throw new PipelineRunFailed(view);
      return undefined;
    } finally {
      stop();
    }
  });
}
