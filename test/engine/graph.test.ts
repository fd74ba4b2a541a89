import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CommandStep, DataReference, Pipeline, PipelineData, PipebookError } from "pipebook";
import { sandbox, type Sandbox } from "./helpers.js";

let sb: Sandbox;
beforeAll(async () => (sb = await sandbox()));
afterAll(async () => sb.close());

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PipebookError);
    expect((err as PipebookError).code).toBe("graph-invalid");
    return [...(err as PipebookError).details];
  }
  throw new Error("expected the graph to be rejected");
}

const step = (name: string, inputs: PipelineData[] = [], outputs: PipelineData[] = [], computeTarget = "local") =>
  new CommandStep({ name, command: "true", inputs, outputs, computeTarget });

describe("graph validation", () => {
  it("rejects a cycle and names the steps in it", () => {
    const a = new PipelineData("a");
    const b = new PipelineData("b");
    const p = new Pipeline(sb.ws, { steps: [step("first", [b], [a]), step("second", [a], [b])] });
    expect(problems(() => p.graph)).toEqual([expect.stringMatching(/cycle: "first" → "second" → "first"|cycle: "second" → "first" → "second"/)]);
  });

  it("refuses an option a step does not know, rather than ignoring it", () => {
    const options = { name: "late", command: "true", runAfter: ["early"], retries: 2 };
    expect(() => new CommandStep(options as never)).toThrow(/^step late: unknown options "runAfter", "retries" \(a step takes name, arguments, /);
  });

  it("rejects duplicate step names", () => {
    const p = new Pipeline(sb.ws, { steps: [step("prep"), step("prep")] });
    expect(problems(() => p.graph)).toEqual(['two steps are named "prep"; step names must be unique']);
    // Only the duplicate is reported, not also "no step produces" the first namesake's output.
    const made = new PipelineData("made");
    const q = new Pipeline(sb.ws, { steps: [step("prep", [], [made]), step("prep"), step("use", [made])] });
    expect(problems(() => q.graph)).toEqual(['two steps are named "prep"; step names must be unique']);
  });

  it("rejects data with two producers, naming both", () => {
    const d = new PipelineData("model");
    const p = new Pipeline(sb.ws, { steps: [step("train_a", [], [d]), step("train_b", [], [d])] });
    expect(problems(() => p.graph)).toEqual(['data "model" has two producers: steps "train_a" and "train_b"']);
  });

  it("rejects an input that no step produces", () => {
    const p = new Pipeline(sb.ws, { steps: [step("train", [new PipelineData("prepped")])] });
    expect(problems(() => p.graph)).toEqual([expect.stringContaining('step "train" reads data "prepped", but no step produces it')]);
  });

  it("rejects an unknown compute target, listing the known ones", () => {
    const p = new Pipeline(sb.ws, { steps: [step("train", [], [], "gpu-cluster")] });
    expect(problems(() => p.graph)).toEqual([expect.stringContaining('step "train" names compute target "gpu-cluster", which the workspace does not have (known: local)')]);
  });

  it("rejects a step reading its own output and an empty pipeline", () => {
    const d = new PipelineData("d");
    expect(problems(() => new Pipeline(sb.ws, { steps: [step("loop", [d], [d])] }).graph)).toEqual(['step "loop" reads data "d" that it produces itself']);
    expect(problems(() => new Pipeline(sb.ws, { steps: [] }).graph)).toEqual(["the pipeline has no steps"]);
  });

  it("reports every problem at once", () => {
    const p = new Pipeline(sb.ws, { steps: [step("x"), step("x"), step("y", [new PipelineData("nope")], [], "mars")] });
    expect(problems(() => p.graph)).toHaveLength(3);
  });

  it("orders steps by data dependencies, flattening nested arrays", () => {
    const a = new PipelineData("a");
    const b = new PipelineData("b");
    const c = new PipelineData("c");
    const p = new Pipeline(sb.ws, { steps: [step("join", [b, c]), [step("left", [a], [b]), [step("right", [a], [c])]], step("src", [], [a])] });
    const g = p.graph;
    const order = g.steps.map((s) => s.name);
    expect(order.indexOf("src")).toBeLessThan(order.indexOf("left"));
    expect(order.indexOf("left")).toBeLessThan(order.indexOf("join"));
    expect(order.indexOf("right")).toBeLessThan(order.indexOf("join"));
    expect(g.edges).toContainEqual({ from: "src", to: "left", data: "a" });
    expect(g.edges).toContainEqual({ from: "right", to: "join", data: "c" });
  });

  it("treats data in arguments as inputs and data references as sources", () => {
    const store = sb.ws.getDefaultDatastore();
    const ref = new DataReference({ datastore: store, dataReferenceName: "raw", pathOnDatastore: "x.csv" });
    const out = new PipelineData("out");
    const s = new CommandStep({ name: "s", command: "cat", arguments: [ref, out], outputs: [out] });
    expect(s.inputs.map((i) => i.name)).toEqual(["raw"]);
    expect(new Pipeline(sb.ws, { steps: [s] }).graph.steps).toHaveLength(1);
  });

  it("rejects bad names at construction with the name in the message", () => {
    expect(() => new PipelineData("bad name")).toThrow(/PipelineData name "bad name"/);
    expect(() => step("9 lives")).toThrow(/step name "9 lives"/);
  });
});
