import { GraphError, type GraphProblem } from "./GraphFailure.js";
import { DataReference, type StepData } from "../dsl/data.js";
import { DatasetInput } from "../dsl/Dataset.js";
import type { PipelineStep } from "../dsl/steps.js";
import type { EdgeView } from "../contract/runView.js";
import { detectCycle } from "./detectCycle.js";

const KIND_WORD: Record<StepData["kind"], string> = { "pipeline-data": "PipelineData", "data-reference": "DataReference", dataset: "dataset input" };

export type StepList = readonly (PipelineStep | StepList)[];

/** The validated step graph: steps in a topological order, and who feeds whom through which data. */
export interface PipelineGraph {
  /** Steps in an order where every producer comes before its consumers. */
  readonly steps: readonly PipelineStep[];
  /** For each step (by index in `steps`), the indices of the steps it waits for. */
  readonly upstream: readonly (readonly number[])[];
  readonly downstream: readonly (readonly number[])[];
  /** PipelineData name → index of the producing step. */
  readonly producers: ReadonlyMap<string, number>;
  readonly edges: readonly EdgeView[];
}

export function flattenSteps(steps: StepList): PipelineStep[] {
  const out: PipelineStep[] = [];
  const visit = (list: StepList): void => {
    for (const s of list) {
      if (Array.isArray(s)) visit(s as StepList);
      else out.push(s as PipelineStep);
    }
  };
  visit(steps);
  return out;
}

/**
 * Derives the graph from data dependencies and rejects what cannot run, reporting every
 * problem at once, each naming the steps and data involved. Compute targets are checked against
 * `knownComputeTargets` unless it is undefined (a remote workspace: its server checks them).
 */
export function buildGraph(input: StepList, knownComputeTargets: ReadonlySet<string> | undefined): PipelineGraph {
  const list = flattenSteps(input);
  const problems: GraphProblem[] = [];
  if (list.length === 0) problems.push({ reason: "no-steps" });

  const byName = new Map<string, PipelineStep>();
  // Data made by a step that a namesake replaced: reading it is not also "produced by no step".
  const shadowed = new Set<string>();
  for (const s of list) {
    const prev = byName.get(s.name);
    if (prev && prev !== s) for (const o of prev.outputs) shadowed.add(o.name);
    if (byName.has(s.name)) {
      problems.push({ reason: byName.get(s.name) === s ? "step-listed-twice" : "step-name-taken", step: s.name });
    }
    byName.set(s.name, s);
  }
  const steps = [...byName.values()];

  const producers = new Map<string, number>();
  const dataObjects = new Map<string, StepData>();
  steps.forEach((s, i) => {
    for (const out of s.outputs) {
      const prev = producers.get(out.name);
      if (prev !== undefined && prev !== i) {
        problems.push({ reason: "two-producers", data: out.name, steps: [steps[prev]!.name, s.name] });
      } else producers.set(out.name, i);
    }
  });
  steps.forEach((s) => {
    for (const d of [...s.inputs, ...s.outputs]) {
      const seen = dataObjects.get(d.name);
      if (seen && seen.kind !== d.kind) {
        problems.push({ reason: "data-kind-clash", data: d.name, kinds: [KIND_WORD[seen.kind], KIND_WORD[d.kind]], step: s.name });
      }
      dataObjects.set(d.name, d);
    }
    if (knownComputeTargets !== undefined && !knownComputeTargets.has(s.computeTarget)) {
      problems.push({ reason: "compute-unknown", step: s.name, computeTarget: s.computeTarget, known: [...knownComputeTargets].sort() });
    }
  });

  const upstream: number[][] = steps.map(() => []);
  const downstream: number[][] = steps.map(() => []);
  const edges: EdgeView[] = [];
  steps.forEach((s, i) => {
    for (const input of s.inputs) {
      // Data that exists before the run: nothing produces it.
      if (input instanceof DataReference || input instanceof DatasetInput) continue;
      if (s.outputs.some((o) => o.name === input.name)) {
        problems.push({ reason: "reads-own-output", step: s.name, data: input.name });
        continue;
      }
      const p = producers.get(input.name);
      if (p === undefined) {
        if (!shadowed.has(input.name)) problems.push({ reason: "no-producer", step: s.name, data: input.name });
        continue;
      }
      if (!upstream[i]!.includes(p)) {
        upstream[i]!.push(p);
        downstream[p]!.push(i);
      }
      edges.push({ from: steps[p]!.name, to: s.name, data: input.name });
    }
  });

  const cycle = detectCycle(downstream);
  if (cycle.hasCycle) {
    problems.push({ reason: "cycle", steps: cycle.cycle.map((i) => steps[i]!.name) });
  }
  if (problems.length > 0) {
    throw new GraphError({ reason: "graph-invalid", problems });
  }

  // Kahn's order, stable in declaration order, then re-index everything to that order.
  const indegree = upstream.map((u) => u.length);
  const ready: number[] = [];
  indegree.forEach((d, i) => d === 0 && ready.push(i));
  const order: number[] = [];
  for (let head = 0; head < ready.length; head++) {
    const i = ready[head]!;
    order.push(i);
    for (const j of downstream[i]!) if (--indegree[j]! === 0) ready.push(j);
  }
  const newIndex = new Int32Array(steps.length);
  order.forEach((old, k) => (newIndex[old] = k));
  return {
    steps: order.map((i) => steps[i]!),
    upstream: order.map((i) => upstream[i]!.map((j) => newIndex[j]!)),
    downstream: order.map((i) => downstream[i]!.map((j) => newIndex[j]!)),
    producers: new Map([...producers].map(([name, i]) => [name, newIndex[i]!])),
    edges,
  };
}
