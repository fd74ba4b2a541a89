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

  it("take @types/node and undici-types as one file, with the types they had", () => {
    const ls = new CellLanguageService(notebookDir());
    expect(ls.diagnose("\n1 + 1\n;export {  };\n", "1 + 1", true)).toEqual([]);
    const files = ls.programFiles();
    // One combined file instead of @types/node's 63 and undici-types' 38 (see combinedNodeTypes).
    expect(files.filter((f) => /\/@types\/node\/|\/undici-types\//.test(f))).toEqual([expect.stringMatching(/\/@types\/node\/__pipebook_combined\.d\.ts$/)]);
    expect(files.length).toBeLessThan(10);
    const messages = (code: string): string[] => ls.diagnose(`\n${code}\n;export {  };\n`, code, true).map((d) => `TS${d.code} ${d.message}`);
    // Globals of global scripts, of modules' `declare global` blocks (fetch's, from undici-types) and ambient modules.
    expect(messages("const r: number = await fetch('x');")).toEqual(["TS2322 Type 'Response' is not assignable to type 'number'."]);
    expect(messages("const h: number = new Headers().get('a');")).toEqual(["TS2322 Type 'string | null' is not assignable to type 'number'.\n  Type 'null' is not assignable to type 'number'."]);
    expect(messages("const b: string = Buffer.from('x');")).toEqual(["TS2322 Type 'Buffer<ArrayBuffer>' is not assignable to type 'string'."]);
    expect(messages("import { readFileSync } from 'node:fs'; const s: number = readFileSync('x', 'utf8');")).toEqual(["TS2322 Type 'string' is not assignable to type 'number'."]);
    expect(messages("import { MessageChannel } from 'worker_threads'; new MessageChannel().port1.on('message', (m: string) => m);")).toEqual([]);
    expect(messages("const t: string = setTimeout(() => 1);")).toEqual(["TS2322 Type 'Timeout' is not assignable to type 'string'."]);
    // The combined file's own module names are not offered where a cell names a module.
    const c = new CellCompiler(notebookDir());
    const specifiers = c.complete('import { x } from "', 19).matches;
    expect(specifiers).toEqual(expect.arrayContaining(["fs", "node:fs", "pipebook"]));
    expect(specifiers.filter((m) => m.startsWith("pipebook:"))).toEqual([]);
    // undici-types keeps an ambient name of its own: a cell's import of the package resolves as before.
    expect(messages("import type { Dispatcher } from 'undici-types';")).toEqual(["TS2307 Cannot find module 'undici-types' or its corresponding type declarations."]);
  }, 120_000);

  it("run a plain JavaScript cell as written, and transpile one with TypeScript or a class", () => {
    const c = new CellCompiler(notebookDir());
    // Not printed again by TypeScript's emit (which would write `(x) => x * 2`), and no source map.
    const plain = c.compile(1, "[1, 2].map((x) =>   x * 2)", "refuse");
    expect(plain).toMatchObject({ status: "ok", sourceMap: "", hasResult: true });
    expect(plain.status === "ok" && plain.code).toContain("(x) =>   x * 2");
    const typed = c.compile(2, "const n: number = 2; n", "refuse");
    expect(typed.status === "ok" && typed.code).not.toContain(": number");
    expect(typed.status === "ok" && typed.sourceMap).not.toBe("");
    const klass = c.compile(3, "class A { x =   1 }", "refuse");
    expect(klass.status === "ok" && klass.sourceMap).not.toBe("");
    expect(c.compile(4, "const y = (1 +", "refuse")).toMatchObject({ status: "refused" });
  }, 120_000);

  it("read a hashbang line (a script pasted whole) as a comment, in a typed cell and a plain one", () => {
    const c = new CellCompiler(notebookDir());
    expect(c.compile(1, "#!/usr/bin/env node\nconst h: number = 1;\nh + 1", "refuse")).toMatchObject({ status: "ok", hasResult: true });
    expect(c.compile(2, "#!/usr/bin/env node\nh * 3", "refuse")).toMatchObject({ status: "ok", code: expect.stringContaining("//usr/bin/env node"), hasResult: true });
  }, 120_000);
});
