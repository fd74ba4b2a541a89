import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CommandStep, DataReference, Dataset, Experiment, OutputFileDatasetConfig, Pipeline, buildRunView } from "pipebook";
import { dataNodeId, layoutRunGraph, renderRunGraph, runGraphShape, svgToString, type RunView, type SvgNode } from "pipebook/contract";
import { renderRunHtml } from "../../kernel/src/display/renderRunHtml.js";
import { renderRunText } from "../../kernel/src/display/renderRunText.js";
import { sandbox, type Sandbox } from "./helpers.js";

let sb: Sandbox;
beforeEach(async () => (sb = await sandbox()));
afterEach(async () => sb.close());

/** Every data node group of a drawing: its id, kind and texts. */
function drawnData(svg: SvgNode): { id: string; kind: string; texts: string[] }[] {
  const out: { id: string; kind: string; texts: string[] }[] = [];
  const visit = (n: SvgNode): void => {
    if (n.tag === "g" && n.attrs["data-data"] !== undefined) {
      out.push({ id: String(n.attrs["data-data"]), kind: String(n.attrs["data-kind"]), texts: (n.children ?? []).filter((c) => c.tag === "text").map((c) => c.text ?? "") });
    }
    for (const c of n.children ?? []) visit(c);
  };
  visit(svg);
  return out;
}

describe("data in the run graph", () => {
  it("datasets, datastore inputs and registered outputs are nodes with their version, linked to the steps, in the stored and the live view", async () => {
    await sb.upload("iris/iris.csv", "a,b\n1,2\n3,4\n");
    await sb.upload("raw/part-1.csv", "a,b\n5,6\n");
    const store = sb.ws.getDefaultDatastore();
    await Dataset.Tabular.fromDelimitedFiles([[store, "iris/iris.csv"]]).register(sb.ws, { name: "iris" });
    const iris = Dataset.getByName(sb.ws, "iris", { version: 1 });
    const parts = Dataset.File.fromFiles([[store, "raw/*.csv"]]);
    const lookup = new DataReference({ datastore: store, dataReferenceName: "lookup", pathOnDatastore: "iris/iris.csv" });
    const scored = new OutputFileDatasetConfig({ name: "scored" }).registerOnComplete("scored_iris");
    const pipeline = new Pipeline(sb.ws, {
      steps: [
        new CommandStep({
          name: "score",
          inputs: [iris.asNamedInput("train"), parts.asNamedInput("parts"), lookup],
          outputs: [scored],
          command: 'cat "$PIPEBOOK_INPUT_TRAIN" > "$PIPEBOOK_OUTPUT_SCORED/s.csv"',
        }),
        new CommandStep({ name: "report", inputs: [iris.asNamedInput("train"), scored], command: "true" }),
      ],
    });
    const run = await new Experiment(sb.ws, "data-nodes").submit(pipeline);
    const live = await run.waitForCompletion();
    expect(live.status).toBe("completed");
    const stored = (await buildRunView(sb.ws, run.id))!;

    const expected = [
      { id: "train", kind: "dataset", name: "iris", detail: "v1", dataset: { name: "iris", version: 1 }, readBy: ["score", "report"] },
      { id: "parts", kind: "dataset", name: "parts", detail: "raw/*.csv", datastore: "workspaceblobstore", readBy: ["score"] },
      { id: "lookup", kind: "datastore", name: "lookup", detail: "iris/iris.csv", datastore: "workspaceblobstore", readBy: ["score"] },
      { id: "scored_iris v1", kind: "registered", name: "scored_iris", detail: "v1", dataset: { name: "scored_iris", version: 1 }, readBy: [], writtenBy: "score" },
    ];
    expect(stored.data).toEqual(expected);
    // The notebook's live view finds the registered output too, once its step ended.
    expect(live.data).toEqual(expected);

    // One shape for every surface: a node per data, an arrow into each reader, one from the writer.
    const shape = runGraphShape(stored);
    expect(shape.nodes.map((n) => n.id)).toEqual(["score", "report", "data:train", "data:parts", "data:lookup", "data:scored_iris v1"]);
    expect(shape.edges.map((e) => `${e.from}→${e.to}`)).toEqual(expect.arrayContaining(["data:train→score", "data:train→report", "data:parts→score", "data:lookup→score", "score→data:scored_iris v1", "score→report"]));
    expect(shape.dangling).toEqual([]);
    const layout = layoutRunGraph(shape);
    const at = (id: string) => layout.nodes.get(id)!;
    expect(at(dataNodeId("parts")).y).toBeLessThan(at("score").y);
    expect(at(dataNodeId("scored_iris v1")).y).toBeGreaterThan(at("score").y);

    // The one drawing: data nodes with name and version; a link only where the surface gives one.
    const drawing = renderRunGraph(stored);
    expect(drawnData(drawing)).toEqual([
      { id: "train", kind: "dataset", texts: ["iris", "v1"] },
      { id: "parts", kind: "dataset", texts: ["parts", "raw/*.csv"] },
      { id: "lookup", kind: "datastore", texts: ["lookup", "iris/iris.csv"] },
      { id: "scored_iris v1", kind: "registered", texts: ["scored_iris", "v1"] },
    ]);
    expect(svgToString(drawing)).not.toContain("<a ");
    const linked = svgToString(renderRunGraph(stored, { dataLink: (d) => (d.dataset ? `#dataset=${d.dataset.name}:${d.dataset.version}` : undefined) }));
    expect(linked.match(/<a href="[^"]+"/g)).toEqual(['<a href="#dataset=iris:1"', '<a href="#dataset=scored_iris:1"']);
    // The notebook's HTML fallback draws them (same renderer), with the profile command in the tooltip.
    const html = renderRunHtml(stored as RunView);
    expect(html).toContain('data-data="scored_iris v1"');
    expect(html).toContain("profile: pipebook datasets iris --version 1 --profile");
    expect(html).toContain("datastore input lookup — iris/iris.csv on datastore workspaceblobstore");
    // And the plain-text fallback lists them under the steps.
    expect(renderRunText(stored as RunView).split("\n").slice(-4)).toEqual([
      "  data dataset iris v1  -> score, report",
      "  data dataset parts raw/*.csv on workspaceblobstore  -> score",
      "  data input lookup iris/iris.csv on workspaceblobstore  -> score",
      "  data registered scored_iris v1  <- score",
    ]);
  });
});
