/** Pieces of the kernel that need no sockets or processes. */
import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import vm from "node:vm";
import { decode, encode, Signer } from "../../kernel/src/protocol/wire.js";
import { makeMessage } from "../../kernel/src/protocol/header.js";
import { toScript } from "../../kernel/src/execute/topLevelTransform.js";
import { HistoryStore } from "../../kernel/src/history/historyStore.js";
import { parseCell } from "../../kernel/src/magics/parseMagics.js";
import { parseStepCell } from "../../kernel/src/notebook/stepCellSpec.js";
import { codePointsToUnits, unitsToCodePoints } from "../../kernel/src/protocol/codePoints.js";
import { renderRunText } from "../../kernel/src/display/renderRunText.js";
import { renderRunHtml } from "../../kernel/src/display/renderRunHtml.js";
import { renderRunGraph, STATUS_TABLE, svgToString, type RunView, type StepStatus, type SvgNode } from "pipebook/contract";

describe("wire format", () => {
  const signer = new Signer("secret");
  const msg = makeMessage("kernel_info_request", {} as Record<string, never>, undefined, "s1");

  it("round-trips a signed message with its routing identities", () => {
    const frames = encode([Buffer.from("id1")], msg, signer);
    const d = decode(frames, signer);
    expect(d.ok).toBe(true);
    if (d.ok) {
      expect(d.identities.map(String)).toEqual(["id1"]);
      expect(d.msg.header.msg_id).toBe(msg.header.msg_id);
    }
  });

  it("rejects a forged, truncated or tampered signature, and messages without a delimiter", () => {
    const frames = encode([], msg, new Signer("other-key"));
    expect(decode(frames, signer)).toEqual({ ok: false, failure: { reason: "bad-signature" } });
    const good = encode([], msg, signer);
    const tampered = [...good];
    tampered[tampered.length - 1] = Buffer.from('{"x":1}');
    expect(decode(tampered, signer)).toEqual({ ok: false, failure: { reason: "bad-signature" } });
    const short = [...good];
    short[1] = Buffer.from(String(short[1]).slice(0, 10));
    expect(decode(short, signer)).toEqual({ ok: false, failure: { reason: "bad-signature" } });
    expect(decode([Buffer.from("x")], signer)).toEqual({ ok: false, failure: { reason: "no-delimiter" } });
  });
});

describe("cell scripts", () => {
  const run = (js: string): Promise<unknown> => vm.runInThisContext(toScript(js, "__pbtest.import").code) as Promise<unknown>;

  it("keeps top-level names across scripts and lets a const be declared again", async () => {
    expect(await run("const tA = 1;\ntA + 1;")).toBe(2);
    expect(await run("const tA = 'again'; tA")).toBe("again");
    expect(await run("let tB; tB")).toBeUndefined();
    expect(await run("function tF() { return tA.length }\nclass TC { v = tF() }\nnew TC().v")).toBe(5);
    expect(await run("const { tX, tY: [tZ] } = { tX: 1, tY: [2] }; tX + tZ + tF()")).toBe(8);
  });

  it("turns the last expression into the result only when there is one", () => {
    expect(toScript("1 + 1;", "i").hasResult).toBe(true);
    expect(toScript("const q = 1;", "i").hasResult).toBe(false);
    expect(toScript("1 + 1;\nexport {};", "i").hasResult).toBe(true);
  });

  it("rewrites static and dynamic imports to the kernel's importer, lines kept", () => {
    const s = toScript('import a, { b as c } from "m";\nimport * as ns from "n";\nconst d = await import("o");', "imp").code;
    expect(s).toContain('({ default: a, b: c } = await imp("m"))');
    expect(s).toContain('(ns = await imp("n"))');
    expect(s).toContain('imp("o")');
    expect(s.split("\n").length).toBe(4);
  });
});

describe("history", () => {
  it("persists sessions and answers tail, range and glob search", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pipebook-history-"));
    try {
      const file = join(dir, "h.jsonl");
      const h1 = new HistoryStore(file);
      h1.add(1, "6*7", "42");
      h1.add(2, "const a = 1", null);
      await h1.flushed();
      const h2 = new HistoryStore(file);
      expect(h2.session).toBe(h1.session + 1);
      h2.add(1, "6*7", "42");
      expect(h2.query({ kind: "tail", n: 2 }).map((e) => e.source)).toEqual(["const a = 1", "6*7"]);
      expect(h2.query({ kind: "range", session: -1, start: 1, stop: 2 })).toEqual([{ session: h1.session, line: 1, source: "6*7", output: "42" }]);
      expect(h2.query({ kind: "search", pattern: "6*", n: undefined, unique: false })).toHaveLength(2);
      expect(h2.query({ kind: "search", pattern: "6*", n: undefined, unique: true })).toHaveLength(1);
      await h2.flushed();
      expect(readFileSync(file, "utf8").trim().split("\n")).toHaveLength(3);
    } finally { rmSync(dir, { recursive: true, force: true }); }
  });
});

describe("magics", () => {
  it("parses cell magics, line magics and help", () => {
    expect(parseCell("%%step a --inputs x\nprint(1)")).toMatchObject({ kind: "cell-magic", magic: { name: "step", args: ["a", "--inputs", "x"] }, body: "print(1)" });
    expect(parseCell("%typecheck off\n1+1")).toMatchObject({ kind: "code", lineMagics: [{ name: "typecheck", args: ["off"] }], code: "\n1+1" });
    expect(parseCell("Math.max?")).toEqual({ kind: "help", expression: "Math.max" });
  });

  it("reads %%step options and names every mistake", () => {
    expect(parseStepCell(["train", "--inputs", "a,b", "--outputs", "m", "--param", "lr=0.1", "--param", "on=true", "--lang", "shell"], "echo"))
      .toMatchObject({ name: "train", inputs: ["a", "b"], outputs: ["m"], params: { lr: 0.1, on: true }, lang: "shell", compute: "local", allowReuse: true });
    expect(() => parseStepCell([], "x")).toThrow(/needs a step name/);
    expect(() => parseStepCell(["s", "--lang", "cobol"], "x")).toThrow(/--lang must be/);
    expect(() => parseStepCell(["s", "--bogus"], "x")).toThrow(/unknown option --bogus/);
    expect(() => parseStepCell(["s"], "  ")).toThrow(/body of step s is empty/);
  });

  it("reads %%step environment and resource options, refusing what they cannot mean", () => {
    expect(parseStepCell(["t", "--image", "python:3.12-slim", "--pip", "numpy==1.26.4,extra[a,b]>=1,<2", "--find-links", "wheels",
      "--gpus", "1", "--cpus", "0.5", "--memory", "512", "--timeout", "90"], "print(1)"))
      .toMatchObject({ image: "python:3.12-slim", pipPackages: ["numpy==1.26.4", "extra[a,b]>=1,<2"], findLinks: ["wheels"], gpus: 1, cpus: 0.5, memoryMb: 512, timeoutSeconds: 90 });
    expect(parseStepCell(["t"], "x")).toMatchObject({ image: undefined, pipPackages: [], gpus: undefined });
    expect(() => parseStepCell(["t", "--image", "--pip", "x"], "x")).toThrow(/--image needs a value/);
    expect(() => parseStepCell(["t", "--pip", "-r req.txt"], "x")).toThrow(/--pip takes package requirements.*"-r req.txt"/);
    expect(() => parseStepCell(["t", "--gpus", "1.5"], "x")).toThrow(/--gpus must be a whole number ≥ 0, got "1.5"/);
    expect(() => parseStepCell(["t", "--cpus", "0x10"], "x")).toThrow(/--cpus must be a number of CPU cores/);
    expect(() => parseStepCell(["t", "--memory", "2"], "x")).toThrow(/--memory must be a whole number of MiB ≥ 6/);
    expect(() => parseStepCell(["t", "--timeout", "0"], "x")).toThrow(/--timeout must be a number of seconds > 0/);
    expect(() => parseStepCell(["t", "--index-url", "pypi"], "x")).toThrow(/--index-url takes a package index URL/);
    expect(() => parseStepCell(["t", "--lang", "shell", "--pip", "numpy"], "x")).toThrow(/--pip installs Python packages, but step t is a shell cell/);
    expect(() => parseStepCell(["t", "--find-links", "w"], "x")).toThrow(/--find-links says where pip finds the packages that --pip names.*add --pip/);
  });
});

describe("positions and run rendering", () => {
  it("converts code points to UTF-16 units and back", () => {
    const s = "a😀b";
    expect(codePointsToUnits(s, 2)).toBe(3);
    expect(unitsToCodePoints(s, 3)).toBe(2);
  });

  const view: RunView = {
    version: 1, runId: "r1", experiment: "e", status: "running", createdAt: "2026-01-01T00:00:00Z", parameters: {},
    steps: [
      { name: "prep", stepRunId: "r1.prep", status: "reused", kind: "python", compute: "local", inputs: [], outputs: ["d"], metrics: [], outputViews: [], reusedFrom: { runId: "r0", stepRunId: "r0.prep", experiment: "e" } },
      { name: "train", stepRunId: "r1.train", status: "running", kind: "python", compute: "local", inputs: ["d"], outputs: [], metrics: [{ name: "acc", points: [{ index: 0, value: 0.9 }] }], outputViews: [] },
    ],
    edges: [{ from: "prep", to: "train", data: "d" }],
  };

  it("draws every step with its status and the data edge, escaping names", () => {
    const svg = svgToString(renderRunGraph({ ...view, steps: [{ ...view.steps[0]!, name: "a<b" }, view.steps[1]!], edges: [{ from: "a<b", to: "train", data: "d" }] }));
    expect(svg).toMatch(/^<svg /);
    expect(svg).toContain('data-status="reused"');
    expect(svg).toContain('data-status="running"');
    expect(svg).toContain("a&lt;b");
    expect(svg).toContain("<path d=\"M ");
  });

  it("draws every status with the status table's colour, tint, symbol and word, in the graph and the text", () => {
    const statuses = Object.keys(STATUS_TABLE) as StepStatus[];
    const all: RunView = { ...view, steps: statuses.map((status, i) => ({ ...view.steps[1]!, name: `s${i}`, status, metrics: [] })), edges: [] };
    const nodes = renderRunGraph(all).children ?? [];
    const part = (node: SvgNode | undefined, cls: string): SvgNode | undefined => node?.children?.find((c) => c.attrs["class"] === cls);
    const text = renderRunText(all);
    for (const [i, status] of statuses.entries()) {
      const style = STATUS_TABLE[status];
      const node = nodes.find((n) => n.attrs["data-step"] === `s${i}`);
      expect(node?.attrs["data-status"]).toBe(status);
      expect(part(node, "pb-node-box")?.attrs).toMatchObject({ stroke: style.colour, fill: style.tint });
      expect(part(node, "pb-node-status")?.text).toBe(`${style.symbol} ${style.word}`);
      expect(text).toMatch(new RegExp(`^  ${style.symbol} s${i} +${style.word} `, "m"));
    }
    expect(new Set(statuses.map((st) => STATUS_TABLE[st].symbol)).size).toBe(statuses.length);
  });

  it("shows a failed step's last log lines in both fallbacks", () => {
    const failed: RunView = { ...view, status: "failed", steps: [view.steps[0]!, { ...view.steps[1]!, status: "failed", error: "exit 1", logTail: "line1\nTraceback: <boom>\n" }] };
    expect(renderRunText(failed)).toContain("| Traceback: <boom>");
    expect(renderRunHtml(failed)).toContain("Traceback: &lt;boom&gt;");
  });

  it("writes a readable text fallback", () => {
    const t = renderRunText(view);
    expect(t).toContain("Run r1 (experiment e): running");
    expect(t).toMatch(/prep\s+reused .*from run r0/);
    expect(t).toContain("acc=0.9");
  });
});
