import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kernelEnv, runCells, textOf, type CellResult, type KernelEnv } from "./kernelHarness.js";
import { buildWheels } from "../support/wheels.js";

/** TypeScript cells as a notebook user writes them, run by a real kernel. */
describe("TypeScript cells", () => {
  let k: KernelEnv;
  let r: CellResult[];
  const cells = [
    /* 0 */ "const a = 1",
    /* 1 */ "const a = 'two'; a.toUpperCase()",
    /* 2 */ "let n: number = 5",
    /* 3 */ "n = n + 1; n",
    /* 4 */ "const v = await Promise.resolve(40) + 2; v",
    /* 5 */ "function f(x: number) { return x * 2 }\nclass P { constructor(public x: number) {} }\nf(3) + new P(4).x",
    /* 6 */ "f(5) + new P(1).x",
    /* 7 */ "const bad: number = 'str'",
    /* 8 */ "%typecheck report\nconst bad2: number = 'str'; bad2",
    /* 9 */ "%typecheck refuse",
    /* 10 */ "import { triple } from 'cjs-pkg'; triple(4)",
    /* 11 */ "import sq, { square } from 'esm-pkg'; [sq, square(5)]",
    /* 12 */ "import * as path from 'node:path'; path.basename('/a/b.txt')",
    /* 13 */ "import { RUN_MIME_TYPE } from 'pipebook'; RUN_MIME_TYPE",
    /* 14 */ "function thrower() {\n  throw new TypeError('bad thing')\n}\n\nthrower()",
    /* 15 */ "interface Pt { x: number }\nconst pt: Pt = { x: 1 }\npt",
    /* 16 */ "enum Color { Red, Green }\nColor.Green",
    /* 17 */ "const {p1, p2} = {p1: 1, p2: 2}; p1 + p2",
    /* 18 */ "[a, n, v, p1, pt.x, Color.Red]",
    /* 19 */ "n = 'not a number'",
    /* 20 */ "let noinit: number | undefined; noinit",
    /* 21 */ "const h = display.html('<i>x</i>'); h.update({ 'text/html': '<b>y</b>', 'text/plain': 'y' })",
    /* 22 */ "%nosuchmagic",
    /* 23 */ "const big = await import('pipebook/contract'); typeof big.isTerminalRunStatus",
    /* 24 */ "import { late } from 'late-pkg'; late",
    /* 25 */ "import { mkdirSync, writeFileSync } from 'node:fs';\nmkdirSync('node_modules/late-pkg', { recursive: true });\n"
      + "writeFileSync('node_modules/late-pkg/package.json', JSON.stringify({ name: 'late-pkg', type: 'module', exports: { '.': { types: './index.d.ts', default: './index.js' } } }));\n"
      + "writeFileSync('node_modules/late-pkg/index.js', 'export const late = \"installed later\";');\n"
      + "writeFileSync('node_modules/late-pkg/index.d.ts', 'export declare const late: string;');",
    /* 26 */ "import { late } from 'late-pkg'; late",
    /* 27 */ "%%step a --outputs x\nprint(1)",
    /* 28 */ "%%step b --inputs x --outputs y --lang shell\necho hi",
    /* 29 */ "%pipeline show",
  ];

  beforeAll(async () => {
    k = await kernelEnv();
    const nm = join(k.root, "node_modules");
    mkdirSync(join(nm, "cjs-pkg"), { recursive: true });
    writeFileSync(join(nm, "cjs-pkg", "package.json"), JSON.stringify({ name: "cjs-pkg", main: "index.js" }));
    writeFileSync(join(nm, "cjs-pkg", "index.js"), "exports.triple = (x) => x * 3;");
    mkdirSync(join(nm, "esm-pkg"), { recursive: true });
    writeFileSync(join(nm, "esm-pkg", "package.json"), JSON.stringify({ name: "esm-pkg", type: "module", exports: { ".": { import: "./index.js" } } }));
    writeFileSync(join(nm, "esm-pkg", "index.js"), "export const square = (x) => x * x; export default 'esm-default';");
    r = await runCells(k, cells);
  }, 180_000);
  afterAll(() => k?.cleanup());

  const result = (i: number) => {
    const o = r[i]!.outputs.find((x) => x.type === "execute_result");
    return o ? String((o.content["data"] as Record<string, unknown>)["text/plain"]) : undefined;
  };

  it("keeps declarations across cells and lets a later cell declare a const again", () => {
    expect(r[0]!.reply.status).toBe("ok");
    expect(result(1)).toBe("'TWO'");
    expect(result(3)).toBe("6");
    expect(result(6)).toBe("11");
    expect(result(18)).toBe("[ 'two', 6, 42, 1, 1, 0 ]");
  });

  it("supports top-level await, destructuring, classes, enums and interfaces", () => {
    expect(result(4)).toBe("42");
    expect(result(5)).toBe("10");
    expect(result(15)).toBe("{ x: 1 }");
    expect(result(16)).toBe("1");
    expect(result(17)).toBe("3");
    expect(r[20]!.reply.status).toBe("ok");
  });

  it("refuses a cell with a type error, naming cell line and column", () => {
    expect(r[7]!.reply).toMatchObject({ status: "error", ename: "TypeScriptError" });
    expect(r[7]!.reply.evalue).toContain("In[");
    expect(r[7]!.reply.evalue).toMatch(/:1:7 TS2322/);
    // The type of `n` comes from the earlier cell: assigning a string is an error.
    expect(r[19]!.reply).toMatchObject({ status: "error", ename: "TypeScriptError" });
    expect(r[19]!.reply.evalue).toContain("TS2322");
  });

  it("in report mode runs the cell and prints the type error on stderr", () => {
    expect(r[8]!.reply.status).toBe("ok");
    const stderr = r[8]!.outputs.find((o) => o.type === "stream" && o.content["name"] === "stderr");
    expect(String(stderr?.content["text"]).replace(/\x1b\[[0-9;]*m/g, "")).toMatch(/:2:7 - error TS2322/);
    expect(result(8)).toBe("'str'");
  });

  it("imports CommonJS, ESM, node builtins and pipebook", () => {
    expect(result(10)).toBe("12");
    expect(result(11)).toBe("[ 'esm-default', 25 ]");
    expect(result(12)).toBe("'b.txt'");
    expect(result(13)).toBe("'application/vnd.pipebook.run+json'");
    expect(result(23)).toBe("'function'");
  });

  it("reports a runtime error with the cell's own line numbers", () => {
    expect(r[14]!.reply).toMatchObject({ status: "error", ename: "TypeError", evalue: "bad thing" });
    const tb = r[14]!.reply.traceback!.join("\n");
    expect(tb).toMatch(/at thrower \(In\[\d+\]:2:\d+\)/);
    expect(tb).toMatch(/In\[\d+\]:5:\d+/);
    expect(tb).not.toContain("node:vm");
  });

  it("shows and updates a display in place", () => {
    const shown = r[21]!.outputs.find((o) => o.type === "display_data");
    const updated = r[21]!.outputs.find((o) => o.type === "update_display_data");
    const id = (shown?.content["transient"] as { display_id?: string })?.display_id;
    expect(id).toBeTruthy();
    expect((updated?.content["transient"] as { display_id?: string })?.display_id).toBe(id);
    expect(textOf(r[21]!)).not.toContain("displayId");
  });

  it("finds a package installed after an import of it failed (no stale resolution)", () => {
    expect(r[24]!.reply).toMatchObject({ status: "error", ename: "TypeScriptError" });
    expect(r[24]!.reply.evalue).toContain("TS2307");
    expect(r[25]!.reply.status).toBe("ok");
    expect(result(26)).toBe("'installed later'");
  });

  it("draws the step cells' graph before any run (%pipeline show)", () => {
    const out = r[29]!.outputs.find((o) => o.type === "execute_result");
    const data = out?.content["data"] as Record<string, unknown>;
    const view = data["application/vnd.pipebook.run+json"] as { status: string; steps: { name: string; status: string }[]; edges: unknown[] };
    expect(view.status).toBe("queued");
    expect(view.steps.map((x) => x.name)).toEqual(["a", "b"]);
    expect(view.edges).toEqual([{ from: "a", to: "b", data: "x" }]);
    expect(String(data["text/html"])).toContain("<svg");
  });

  it("names an unknown magic", () => {
    expect(r[22]!.reply).toMatchObject({ status: "error", ename: "MagicError" });
    expect(r[22]!.reply.evalue).toContain("%nosuchmagic");
  });
});

/** `%%step` environment options reach the engine: packages are installed, not merely keyed. */
describe("step cells with an environment", () => {
  let k: KernelEnv;
  let r: CellResult[];
  beforeAll(async () => {
    k = await kernelEnv();
    await buildWheels(join(k.cwd, "wheels"), [{ name: "pbcell", version: "3.1.4" }]);
    r = await runCells(k, [
      /* 0 */ `%%step uses --pip pbcell==3.1.4 --find-links wheels --timeout 120 --param tag=v1 --param report=${join(k.cwd, "report.txt")}\n`
        + "import os, pbcell, sys\nopen(os.environ['PIPEBOOK_PARAM_REPORT'], 'w').write(f'pbcell {pbcell.VERSION} venv {sys.prefix != sys.base_prefix} tag {os.environ[\"PIPEBOOK_PARAM_TAG\"]}')",
      /* 1 */ "%pipeline run -p tag=007",
      /* 2 */ "%%step boxed --image python:3.12-slim\nprint(1)",
      /* 3 */ "%pipeline run",
    ]);
  }, 300_000);
  afterAll(() => k?.cleanup());

  it("installs --pip packages from --find-links (a folder beside the notebook) into the step's venv; -p reads a string parameter as written", () => {
    expect(r[0]!.reply.status).toBe("ok");
    expect(r[1]!.reply.status, textOf(r[1]!)).toBe("ok");
    expect(textOf(r[1]!)).toContain("installed pbcell-3.1.4");
    expect(readFileSync(join(k.cwd, "report.txt"), "utf8")).toBe("pbcell 3.1.4 venv True tag 007");
  });

  it("refuses an --image on the local target at submit, naming the step", () => {
    expect(r[3]!.reply.status).toBe("error");
    expect(textOf(r[3]!)).toMatch(/boxed/);
    expect(textOf(r[3]!)).toMatch(/image/);
    // An expected failure is a sentence, not a crash: no frames from inside the engine; its name is its subsystem's error.
    expect(r[3]!.reply.ename).toBe("ComputeError");
    expect(r[3]!.reply.traceback!.join("\n")).not.toMatch(/engine\/(dist|src)\//);
  });
});
