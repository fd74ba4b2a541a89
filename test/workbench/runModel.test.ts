import { describe, expect, it } from "vitest";
import { RunModel, type RunChange } from "../../jupyterlab-ext/src/model/RunModel.js";
import { parseRunView } from "../../jupyterlab-ext/src/model/parseRunView.js";
import { decideUpdate, isLegalTransition } from "../../jupyterlab-ext/src/model/statusTransitions.js";
import { finishedRunWithDetails, irisRun } from "./fixtures/runViews.js";

describe("parseRunView", () => {
  it("accepts the payload as an object or as a JSON string and fills optional arrays", () => {
    const run = irisRun("r1", "running", { prep: { status: "running" } });
    const fromObject = parseRunView(run);
    const fromString = parseRunView(JSON.stringify(run));
    expect(fromObject.ok && fromObject.run.steps.map((s) => s.status)).toEqual(["running", "queued", "queued", "queued"]);
    expect(fromString).toEqual(fromObject);
    const sparse = { ...run, steps: [{ name: "a", status: "queued" }] };
    const parsed = parseRunView(sparse);
    expect(parsed.ok && parsed.run.steps[0]).toMatchObject({ inputs: [], outputs: [], metrics: [], outputViews: [] });
  });

  it("says what is wrong with a payload it cannot draw", () => {
    expect(parseRunView("{nope")).toMatchObject({ ok: false, reason: "not-json" });
    expect(parseRunView([1])).toMatchObject({ ok: false, reason: "not-an-object" });
    expect(parseRunView({ ...irisRun("r", "queued", {}), version: 2 })).toMatchObject({ ok: false, reason: "unknown-version" });
    expect(parseRunView({ ...irisRun("r", "queued", {}), status: "weird" })).toMatchObject({ ok: false, reason: "missing-field" });
    const badStep = { ...irisRun("r", "queued", {}), steps: [{ name: "x", status: "done" }] };
    const result = parseRunView(badStep);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.detail).toContain("steps[0].status");
  });
});

describe("status transitions", () => {
  it("allows only forward moves", () => {
    expect(isLegalTransition("queued", "running")).toBe(true);
    expect(isLegalTransition("queued", "reused")).toBe(true);
    expect(isLegalTransition("queued", "skipped")).toBe(true);
    // Coalesced updates: a fast step is seen queued, then already done.
    expect(isLegalTransition("queued", "completed")).toBe(true);
    expect(isLegalTransition("running", "completed")).toBe(true);
    expect(isLegalTransition("running", "failed")).toBe(true);
    expect(isLegalTransition("running", "running")).toBe(true);
    expect(isLegalTransition("completed", "running")).toBe(false);
    expect(isLegalTransition("running", "queued")).toBe(false);
    expect(isLegalTransition("reused", "completed")).toBe(false);
    expect(isLegalTransition("failed", "completed")).toBe(false);
  });

  it("reports the steps that changed, and treats a backwards view of the same run as stale", () => {
    const a = irisRun("r1", "running", { prep: { status: "running" } });
    const b = irisRun("r1", "running", { prep: { status: "completed" }, train: { status: "running" }, profile: { status: "reused" } });
    expect(decideUpdate(undefined, a)).toMatchObject({ kind: "new-run" });
    expect(decideUpdate(a, b)).toEqual({
      kind: "update",
      transitions: [
        { step: "prep", from: "running", to: "completed" },
        { step: "train", from: "queued", to: "running" },
        { step: "profile", from: "queued", to: "reused" },
      ],
    });
    expect(decideUpdate(b, a)).toEqual({ kind: "stale", step: "prep", from: "completed", to: "running" });
    // A new run in the same output (resubmitted cell) starts over, even though statuses go "back".
    const next = irisRun("r2", "queued", {});
    expect(decideUpdate(b, next)).toMatchObject({ kind: "new-run" });
  });
});

describe("RunModel", () => {
  it("follows a live run: lays out once, repaints in place, drops late views, keeps the selection", () => {
    const model = new RunModel();
    const changes: RunChange[] = [];
    model.changed.connect((_, change) => changes.push(change));
    const views = [
      irisRun("r1", "queued", {}),
      irisRun("r1", "running", { prep: { status: "running" } }),
      irisRun("r1", "running", { prep: { status: "completed", durationMs: 900 }, train: { status: "running" }, profile: { status: "running" } }),
      irisRun("r1", "completed", { prep: { status: "completed", durationMs: 900 }, train: { status: "completed" }, profile: { status: "completed" }, evaluate: { status: "completed" } }),
    ];
    expect(model.update(views[0]!)).toBe(true);
    const firstLayout = model.layout;
    model.select("train");
    for (const view of views.slice(1)) {
      expect(model.update(view)).toBe(true);
    }
    expect(changes.map((c) => c.relayout)).toEqual([true, false, false, false]);
    // The very same layout object: nothing moves on screen while statuses change.
    expect(model.layout).toBe(firstLayout);
    expect(changes[2]!.transitions).toEqual([
      { step: "prep", from: "running", to: "completed" },
      { step: "train", from: "queued", to: "running" },
      { step: "profile", from: "queued", to: "running" },
    ]);
    // A late view from before is ignored, and counted.
    expect(model.update(views[1]!)).toBe(false);
    expect(model.staleDropped).toBe(1);
    expect(model.run?.status).toBe("completed");
    expect(model.selected).toBe("train");
    expect(model.selectedStep?.status).toBe("completed");
  });

  it("lays out again only when the graph's shape changes, and forgets a selection the new run lacks", () => {
    const model = new RunModel();
    model.update(irisRun("r1", "completed", {}));
    model.select("profile");
    const withoutProfile = { ...irisRun("r2", "queued", {}), steps: irisRun("r2", "queued", {}).steps.filter((s) => s.name !== "profile"), edges: irisRun("r2", "queued", {}).edges.filter((e) => e.to !== "profile") };
    let relayout: boolean | undefined;
    model.changed.connect((_, change) => (relayout = change.relayout));
    model.update(withoutProfile);
    expect(relayout).toBe(true);
    expect(model.layout?.nodes.has("profile")).toBe(false);
    expect(model.selected).toBeUndefined();
  });

  it("toggles the selection when the same step is clicked twice", () => {
    const model = new RunModel();
    model.update(finishedRunWithDetails());
    const seen: (string | undefined)[] = [];
    model.selectionChanged.connect((_, name) => seen.push(name));
    model.select("evaluate");
    model.select("evaluate");
    model.select("prep");
    expect(seen).toEqual(["evaluate", undefined, "prep"]);
  });
});
