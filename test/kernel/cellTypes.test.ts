/**
 * The checker's view of the kernel globals (issue 13): a distinct cell is a new TypeScript program,
 * so pipebook's Pipeline type (and zod's files behind it) joins the program only once a cell names
 * notebookPipeline, and from then on for every cell. In process, with the kernel's own compiler.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CellCompiler } from "../../kernel/src/execute/cellCompiler.js";
import { CellLanguageService } from "../../kernel/src/execute/cellLanguageService.js";

const dirs: string[] = [];
const notebookDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), "pipebook-cell-types-"));
  dirs.push(d);
  return d;
};
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const fromPipebook = (files: string[]) => files.filter((f) => /\/engine\/dist\/|\/node_modules\/zod\//.test(f));

describe("the kernel globals' types", () => {
  it("leave pipebook and zod out of a cell's program until a cell names notebookPipeline, then keep them", () => {
    const ls = new CellLanguageService(notebookDir());
    ls.preloadPipelineTypes();
    expect(ls.diagnose("\n1 + 1\n;export {  };\n", "1 + 1", true)).toEqual([]);
    const before = ls.programFiles();
    expect(fromPipebook(before)).toEqual([]);
    expect(before.some((f) => f.includes("@types/node"))).toBe(true);

    const code = "const n: number = await notebookPipeline();";
    const diags = ls.diagnose(`\n${code}\n;export { n };\n`, code, true);
    expect(diags.map((d) => d.message)).toEqual(["Type 'Pipeline' is not assignable to type 'number'."]);
    expect(fromPipebook(ls.programFiles()).length).toBeGreaterThan(50);

    // Sticky: a later cell that does not name it still has the declaration.
    expect(ls.diagnose("\n2 + 2\n;export {  };\n", "2 + 2", true)).toEqual([]);
    expect(fromPipebook(ls.programFiles()).length).toBeGreaterThan(50);
  }, 120_000);

  it("type a later cell's use of what notebookPipeline() gave an earlier cell", () => {
    const c = new CellCompiler(notebookDir());
    c.warm();
    // Completion offers the name before any cell used it.
    expect(c.complete("notebookPi", 10).matches).toContain("notebookPipeline");
    expect(c.compile(1, "1 + 1", "refuse")).toMatchObject({ status: "ok" });
    expect(c.compile(2, "const p = await notebookPipeline();", "refuse")).toMatchObject({ status: "ok" });
    const later = c.compile(3, "const s: string = p;", "refuse");
    expect(later.status).toBe("refused");
    expect(later.diagnostics.map((d) => d.message)).toEqual(["Type 'Pipeline' is not assignable to type 'string'."]);
  }, 120_000);
});
