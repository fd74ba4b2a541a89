import { describe, expect, it } from "vitest";
import { cellsToRerun, type CellState } from "../../jupyterlab-ext/src/model/cellsToRerun.js";
import { validatePublish } from "../../jupyterlab-ext/src/model/publishRequest.js";
import { SseParser } from "../../jupyterlab-ext/src/model/sseParser.js";
import { readEndpointSummaries, readPipelineSummaries, readRunSummaries } from "../../jupyterlab-ext/src/model/summaries.js";
import { PipebookRequestError } from "../../jupyterlab-ext/src/request.js";

describe("SseParser", () => {
  it("assembles events split across chunks at any byte", () => {
    const stream = 'event: run\ndata: {"a":1}\n\n: keep-alive\n\ndata: line1\ndata: line2\nid: 7\n\n';
    for (let cut = 1; cut < stream.length; cut++) {
      const parser = new SseParser();
      const events = [...parser.push(stream.slice(0, cut)), ...parser.push(stream.slice(cut))];
      expect(events).toEqual([{ event: "run", data: '{"a":1}' }, { event: "message", data: "line1\nline2", id: "7" }]);
    }
  });

  it("accepts CRLF line ends", () => {
    expect(new SseParser().push("data: x\r\n\r\n")).toEqual([{ event: "message", data: "x" }]);
  });
});

describe("list replies", () => {
  const run = { runId: "r1", experiment: "e", status: "completed", source: "cli", createdAt: "t", parameters: { lr: 0.1 } };
  const pipeline = { id: "p1", name: "Iris", version: "1.0", description: "", enabled: true, createdAt: "t", sourceRunId: null, endpoint: "/pipelines/p1/runs", parameters: [], steps: ["a"] };
  it("reads the REST server's replies as the contract types them", () => {
    expect(readRunSummaries({ runs: [run] })).toEqual([run]);
    expect(readPipelineSummaries([pipeline])).toEqual([pipeline]);
    expect(readEndpointSummaries([{ name: "iris-ep", description: "", defaultVersion: "0", endpoint: "/endpoints/iris-ep/runs", versions: [{ version: "0", pipelineId: "p1", addedAt: "t" }] }]))
      .toMatchObject([{ name: "iris-ep", defaultVersion: "0" }]);
  });

  it("refuses a reply of another shape with a sentence naming the field, instead of guessing spellings", () => {
    expect(() => readRunSummaries({ runs: [{ Id: "r2", ExperimentName: "f", Status: "failed" }] })).toThrow(/the server's reply is not a RunList at runs\.0\.runId: .*same version/);
    expect(() => readRunSummaries("garbage")).toThrow(/not a RunList/);
    expect(() => readPipelineSummaries([{ ...pipeline, enabled: "yes" }])).toThrow(/PublishedPipelineList at 0\.enabled/);
    // A typed failure, as the rest of the extension's requests: the panel switches on its data, not its wording.
    const wrong = (() => { try { return readRunSummaries({ runs: [{ Id: "r2" }] }); } catch (err) { return err; } })();
    expect(wrong).toBeInstanceOf(PipebookRequestError);
    expect((wrong as PipebookRequestError).failure).toMatchObject({ reason: "reply-invalid", reply: "RunList", at: "runs.0.runId" });
    expect((() => { try { return readRunSummaries("garbage"); } catch (err) { return (err as PipebookRequestError).failure; } })()).toMatchObject({ reason: "reply-invalid", reply: "RunList", at: "" });
  });
});

describe("rerun changed steps", () => {
  const cells: CellState[] = [
    { id: "imports", type: "code", source: "import ...", hasRunOutput: false },
    { id: "md", type: "markdown", source: "# notes", hasRunOutput: false },
    { id: "prep", type: "code", source: "%%step prep\nv1", hasRunOutput: false },
    { id: "train", type: "code", source: "%%step train\nv1", hasRunOutput: false },
    { id: "submit", type: "code", source: "await submit()", hasRunOutput: true },
    { id: "empty", type: "code", source: "  ", hasRunOutput: false },
  ];
  const executed = new Map(cells.map((c) => [c.id, c.source]));

  it("runs the edited cell and then resubmits", () => {
    const edited = cells.map((c) => (c.id === "train" ? { ...c, source: "%%step train\nv2" } : c));
    expect(cellsToRerun(edited, executed)).toEqual(["train", "submit"]);
  });

  it("runs every cell the kernel never executed (after a restart)", () => {
    expect(cellsToRerun(cells, new Map())).toEqual(["imports", "prep", "train", "submit"]);
  });

  it("only resubmits when nothing changed", () => {
    expect(cellsToRerun(cells, executed)).toEqual(["submit"]);
  });
});

describe("publish", () => {
  it("validates endpoint names and versions", () => {
    expect(validatePublish({ name: "iris-endpoint", version: "1.0", description: "" })).toEqual({ ok: true });
    expect(validatePublish({ name: "1bad", version: "1.0", description: "" })).toMatchObject({ ok: false, field: "name" });
    expect(validatePublish({ name: "ok", version: "", description: "" })).toMatchObject({ ok: false, field: "version" });
    expect(validatePublish({ name: "a/b", version: "1", description: "" })).toMatchObject({ ok: false, field: "name" });
  });
});
