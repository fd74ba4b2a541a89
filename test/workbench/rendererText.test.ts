import { describe, expect, it } from "vitest";
import { detailLine, fitText, formatDuration, shortRunId, statusLine, statusWord, type StepView, type Translate } from "pipebook/contract";
import { seriesPolyline, summariseMetric } from "../../jupyterlab-ext/src/model/metricSeries.js";
import { countByStatus } from "../../jupyterlab-ext/src/model/statusSummary.js";
import { finishedRunWithDetails } from "./fixtures/runViews.js";

/** Stands in for JupyterLab's `trans.__` (same `%1` substitution as its null translator). */
const trans: Translate = (text, ...args) => text.replace(/%(\d)/g, (_, i: string) => String(args[Number(i) - 1]));

const step = (name: string): StepView => {
  const found = finishedRunWithDetails().steps.find((s) => s.name === name);
  if (found === undefined) throw new Error(name);
  return found;
};

describe("what a node says", () => {
  it("labels every status with the status table's word, 'completed' for completed (as every surface says it)", () => {
    expect(["queued", "running", "completed", "failed", "reused", "skipped", "canceled"].map((s) => statusWord(s as StepView["status"], trans)))
      .toEqual(["queued", "running", "completed", "failed", "reused", "skipped", "canceled"]);
  });

  it("shows duration after the status, except for reused steps, which show their source run", () => {
    expect(statusLine(step("prep"), trans)).toBe("completed · 1.2 s");
    expect(statusLine(step("train"), trans)).toBe("reused");
    expect(detailLine(step("train"), trans)).toBe("from run run-11aa22bb");
    expect(detailLine(step("evaluate"), trans)).toBe("step evaluate exited with code 1: ValueError: could not convert string to float: 'setosa'");
    expect(detailLine(step("prep"), trans)).toBe("");
    expect(fitText("a-very-long-step-name-indeed", 12)).toBe("a-very-long…");
  });

  it("formats durations in at most two units", () => {
    expect(formatDuration(undefined)).toBe("");
    expect(formatDuration(-5)).toBe("");
    expect(formatDuration(999.4)).toBe("999 ms");
    expect(formatDuration(1234)).toBe("1.2 s");
    expect(formatDuration(61_500)).toBe("1 m 02 s");
    expect(formatDuration(3_725_000)).toBe("1 h 02 m");
    expect(shortRunId("run-2f6c1a9e7d")).toBe("run-2f6c1a9e");
    expect(shortRunId("20261122-113151-13e883")).toBe("113151-13e883");
    expect(shortRunId("short")).toBe("short");
  });

  it("counts steps per status in a fixed order for the header", () => {
    expect(countByStatus(finishedRunWithDetails())).toEqual([["completed", 2], ["reused", 1], ["failed", 1]]);
  });
});

describe("metrics", () => {
  it("summarises a series by its last value and keeps the numeric points in logging order", () => {
    const loss = summariseMetric({ name: "loss", points: [{ index: 2, value: 0.5 }, { index: 0, value: 0.9 }, { index: 1, value: "n/a" }] });
    expect(loss).toEqual({ name: "loss", last: "0.5", series: [0.9, 0.5] });
    expect(summariseMetric({ name: "acc", points: [{ index: 0, value: 0.93333333 }] }).last).toBe("0.9333");
    expect(summariseMetric({ name: "n", points: [{ index: 0, value: 150 }] }).last).toBe("150");
  });

  it("draws a polyline only for a series, scaled into the box, flat series in the middle", () => {
    expect(seriesPolyline([1], 100, 20)).toBeUndefined();
    const line = seriesPolyline([0, 10], 100, 20, 0);
    expect(line).toEqual({ points: "0,20 100,0", min: 0, max: 10 });
    expect(seriesPolyline([3, 3, 3], 100, 20, 0)?.points).toBe("0,10 50,10 100,10");
  });
});
