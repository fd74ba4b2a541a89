import { open } from "node:fs/promises";
import { join } from "node:path";
import { RUN_VIEW_VERSION, type DataNodeView, type MetricView, type OutputView, type RunView, type StepView } from "../contract/runView.js";
import { previewOutput } from "../artifacts/previewOutput.js";
import { summarizeDecision } from "../explain/formatDecision.js";
import type { Workspace } from "../workspace/Workspace.js";
import type { OutputRow, RunRow, StepRunRow } from "../store/RunStore.js";

/** How much of a step's output the view carries. */
export const LOG_TAIL_BYTES = 4096;
/** Previews keyed by output digest: an output never changes once recorded. */
const previews = new Map<string, OutputView["preview"]>();

/** The run as the notebook, the REST server and the web page show it, read from the store. */
export async function buildRunView(ws: Workspace, runId: string): Promise<RunView | undefined> {
  const run = ws.runs.getRun(runId);
  if (!run) return undefined;
  const rows = ws.runs.getSteps(runId);
  const steps = await Promise.all(rows.map((s) => stepView(ws, s)));
  const data = [...inputDataNodes(run), ...registeredDataNodes(ws, rows)];
  return {
    version: RUN_VIEW_VERSION,
    runId: run.id,
    experiment: run.experiment,
    status: run.status,
    createdAt: run.createdAt,
    ...(run.endedAt && { endedAt: run.endedAt }),
    ...(run.error && { error: run.error }),
    parameters: run.parameters,
    steps,
    edges: run.graph.edges,
    ...(data.length > 0 && { data }),
  };
}

/**
 * The data a run reads from outside its steps, from its spec: each dataset input (by the
 * registered version it pins, or by its paths) and each DataReference, with the steps reading it.
 */
export function inputDataNodes(run: RunRow): DataNodeView[] {
  const nodes = new Map<string, DataNodeView & { readBy: string[] }>();
  for (const s of run.graph.spec.steps) {
    for (const d of s.inputs) {
      let node = nodes.get(d.name);
      if (node === undefined) {
        if (d.kind === "dataset") {
          const paths = d.definition.paths.map((p) => p.path);
          const where = paths.length > 1 ? `${paths[0]} +${paths.length - 1}` : (paths[0] ?? "");
          node = d.basedOn
            ? { id: d.name, kind: "dataset", name: d.basedOn.name, detail: `v${d.basedOn.version}${d.definition.transforms.length > 0 ? ", sliced" : ""}`, dataset: d.basedOn, readBy: [] }
            : { id: d.name, kind: "dataset", name: d.name, detail: where, datastore: d.definition.paths[0]?.datastore ?? "", readBy: [] };
        } else if (d.kind === "data-reference") {
          node = { id: d.name, kind: "datastore", name: d.name, detail: d.path, datastore: d.datastore, readBy: [] };
        } else continue;
        nodes.set(d.name, node);
      }
      if (!node.readBy.includes(s.name)) node.readBy.push(s.name);
    }
  }
  return [...nodes.values()];
}

/** The dataset versions registered from the outputs of these steps (or of the runs they reused). */
export function registeredDataNodes(ws: Workspace, steps: readonly Pick<StepRunRow, "id" | "name" | "reusedFrom">[]): DataNodeView[] {
  const stepOf = new Map(steps.map((s) => [s.reusedFrom ?? s.id, s.name]));
  return ws.datasets.registeredBy([...stepOf.keys()]).flatMap((v) => {
    const writtenBy = v.lineage ? stepOf.get(v.lineage.stepRunId) : undefined;
    if (writtenBy === undefined) return [];
    return [{ id: `${v.name} v${v.version}`, kind: "registered", name: v.name, detail: `v${v.version}`, dataset: { name: v.name, version: v.version }, readBy: [], writtenBy }];
  });
}

async function stepView(ws: Workspace, s: StepRunRow): Promise<StepView> {
  const metrics = new Map<string, MetricView["points"][number][]>();
  for (const m of ws.runs.getMetrics(s.reusedFrom ?? s.id)) {
    const points = metrics.get(m.name) ?? [];
    points.push({ index: m.idx, value: m.value });
    metrics.set(m.name, points);
  }
  const outputViews = await Promise.all(ws.runs.getOutputs(s.id).map(outputView));
  const reusedFrom = s.decision?.reason === "reused" ? s.decision.from : undefined;
  const durationMs = s.startedAt && s.endedAt ? Date.parse(s.endedAt) - Date.parse(s.startedAt) : undefined;
  const logTail = await readTail(join(s.reusedFrom ? originLogDir(ws, s.reusedFrom) ?? s.logDir : s.logDir, "output.log"));
  return {
    name: s.name,
    stepRunId: s.id,
    status: s.status,
    kind: s.kind,
    compute: s.compute,
    inputs: s.inputs,
    outputs: s.outputs,
    ...(s.startedAt && { startedAt: s.startedAt }),
    ...(s.endedAt && { endedAt: s.endedAt }),
    ...(durationMs !== undefined && { durationMs }),
    ...(s.exitCode !== null && { exitCode: s.exitCode }),
    ...(s.error && { error: s.error }),
    ...(reusedFrom && { reusedFrom }),
    ...(s.decision && { why: summarizeDecision(s.decision) }),
    metrics: [...metrics].map(([name, points]) => ({ name, points })),
    outputViews,
    ...(logTail && { logTail }),
  };
}

/** An output as the view shows it, with a preview of its content (cached by digest: an output never changes once recorded). */
export async function outputView(o: OutputRow): Promise<OutputView> {
  let preview = o.digest ? previews.get(o.digest) : undefined;
  if (preview === undefined && o.digest) {
    preview = await previewOutput(o.path).catch(() => undefined);
    if (previews.size > 500) previews.clear();
    previews.set(o.digest, preview);
  }
  return { name: o.name, ...(o.digest && { hash: o.digest }), path: o.path, ...(preview && { preview }) };
}

function originLogDir(ws: Workspace, stepRunId: string): string | undefined {
  return ws.runs.getStep(stepRunId)?.logDir;
}

export async function readTail(file: string): Promise<string | undefined> {
  const h = await open(file, "r").catch(() => undefined);
  if (!h) return undefined;
  try {
    const { size } = await h.stat();
    const len = Math.min(size, LOG_TAIL_BYTES);
    const buf = Buffer.alloc(len);
    await h.read(buf, 0, len, size - len);
    const text = buf.toString("utf8");
    return size > len ? text.slice(text.indexOf("\n") + 1) : text;
  } finally {
    await h.close();
  }
}
