import { describe, expect, it } from "vitest";
import { checkAssignments, parseAssignments } from "pipebook/contract";

const declared = [
  { name: "tag", type: "string", defaultValue: "v1" },
  { name: "lr", type: "number", defaultValue: 0.1 },
  { name: "fast", type: "boolean", defaultValue: false },
] as const;

describe("parameters: one set of rules for every surface", () => {
  it("reads a declared parameter's text by its type: tag=007 stays a string", () => {
    expect(parseAssignments(["tag=007", "lr=1e-3", "fast=true"], declared, "refuse")).toEqual({ ok: true, values: { tag: "007", lr: 0.001, fast: true } });
  });

  it("reads numbers strictly and names each problem at once", () => {
    const r = parseAssignments(["lr=0x10", "fast=yes", "nope", "epochs=3", "lr="], declared, "refuse");
    expect(r).toEqual({
      ok: false,
      problems: [
        'parameter "lr" must be a number, got "0x10"',
        'parameter "fast" must be true or false, got "yes"',
        'parameter assignment "nope" must look like name=value',
        'unknown parameter "epochs" (the pipeline has fast, lr, tag)',
        'parameter "lr" must be a number, got ""',
      ],
    });
  });

  it("types a declaration by how its value is written", () => {
    expect(parseAssignments(["a=007", "b=true", "c=0x10", "d=-2.5", "e="], [], "infer")).toEqual({ ok: true, values: { a: 7, b: true, c: "0x10", d: -2.5, e: "" } });
    expect(parseAssignments(["1x=2", "__proto__=1"], [], "infer")).toMatchObject({ ok: false, problems: [expect.stringContaining('"1x"'), 'parameter name "__proto__" is reserved'] });
  });

  it("refuses NUL characters and values over the size bound, saying the bound", () => {
    expect(parseAssignments(["tag=a\0b"], declared, "refuse")).toEqual({ ok: false, problems: ['parameter "tag" holds a NUL character, which no process can be given'] });
    expect(checkAssignments({ tag: "x".repeat(200_000) }, declared)).toEqual({ ok: false, problems: ['parameter "tag" is 200000 bytes long in UTF-8; the limit is 65536 bytes (64 KiB)'] });
  });

  it("bounds a value in UTF-8 bytes, as a process's environment is bounded, not in characters", () => {
    // 50,000 characters, 150,000 bytes: over the 128 KiB Linux allows one variable.
    expect(checkAssignments({ tag: "€".repeat(50_000) }, declared)).toEqual({ ok: false, problems: ['parameter "tag" is 150000 bytes long in UTF-8; the limit is 65536 bytes (64 KiB)'] });
    expect(checkAssignments({ tag: "😀".repeat(16_384) }, declared)).toEqual({ ok: true, values: expect.objectContaining({ tag: "😀".repeat(16_384) }) });
    expect(checkAssignments({ tag: "😀".repeat(16_385) }, declared)).toMatchObject({ ok: false, problems: [expect.stringContaining("65540 bytes")] });
  });

  it("checks typed assignments, fills defaults, and refuses __proto__ rather than dropping it", () => {
    expect(checkAssignments({ lr: 0.5 }, declared)).toEqual({ ok: true, values: { tag: "v1", lr: 0.5, fast: false } });
    expect(checkAssignments(JSON.parse('{"__proto__": 1, "lr": "0.5"}') as Record<string, unknown>, declared)).toEqual({
      ok: false,
      problems: ['parameter name "__proto__" is reserved', 'parameter "lr" must be a number (its default is 0.1), got "0.5"'],
    });
  });
});
