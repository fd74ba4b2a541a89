import { FailureError, unreachable } from "../errors/PipebookError.js";

/** One thing that keeps a pipeline's steps from forming a runnable graph, as data. */
export type GraphProblem =
  | { readonly reason: "no-steps" }
  | { readonly reason: "step-listed-twice"; readonly step: string }
  | { readonly reason: "step-name-taken"; readonly step: string }
  | { readonly reason: "two-producers"; readonly data: string; readonly steps: readonly [string, string] }
  | { readonly reason: "data-kind-clash"; readonly data: string; readonly kinds: readonly [string, string]; readonly step: string }
  | { readonly reason: "compute-unknown"; readonly step: string; readonly computeTarget: string; readonly known: readonly string[] }
  | { readonly reason: "reads-own-output"; readonly step: string; readonly data: string }
  | { readonly reason: "no-producer"; readonly step: string; readonly data: string }
  | { readonly reason: "cycle"; readonly steps: readonly string[] };

/** The graph's failure: every problem found, reported at once. */
export interface GraphFailure {
  readonly reason: "graph-invalid";
  readonly problems: readonly GraphProblem[];
}

export class GraphError extends FailureError<GraphFailure> {
  constructor(failure: GraphFailure) {
    super("graph-invalid", failure, describeGraphFailure(failure), failure.problems.map(describeGraphProblem));
  }
}

/** The heading; `GraphError` lists each problem under it. */
export function describeGraphFailure(f: GraphFailure): string {
  const n = f.problems.length;
  return `the pipeline is invalid (${n} problem${n > 1 ? "s" : ""}):`;
}

export function describeGraphProblem(p: GraphProblem): string {
  switch (p.reason) {
    case "no-steps":
      return "the pipeline has no steps";
    case "step-listed-twice":
      return `step "${p.step}" is listed twice`;
    case "step-name-taken":
      return `two steps are named "${p.step}"; step names must be unique`;
    case "two-producers":
      return `data "${p.data}" has two producers: steps "${p.steps[0]}" and "${p.steps[1]}"`;
    case "data-kind-clash":
      return `the name "${p.data}" is used both for a ${p.kinds[0]} and a ${p.kinds[1]} (step "${p.step}")`;
    case "compute-unknown":
      return `step "${p.step}" names compute target "${p.computeTarget}", which the workspace does not have (known: ${p.known.join(", ")})`;
    case "reads-own-output":
      return `step "${p.step}" reads data "${p.data}" that it produces itself`;
    case "no-producer":
      return `step "${p.step}" reads data "${p.data}", but no step produces it (add it to some step's outputs)`;
    case "cycle":
      return `the steps form a cycle: ${p.steps.map((s) => `"${s}"`).join(" → ")}`;
    default:
      return unreachable(p);
  }
}
