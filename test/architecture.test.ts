import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

// The engine's layer rules (.dependency-cruiser.cjs), checked on every test run: no value-import
// cycles, a leaf contract, declarations that execute nothing, HTTP only in the server. Violations
// that predate a rule are listed in the known-violations file, to be removed; none may be added.
const REPO = join(import.meta.dirname, "..");
const KNOWN = join(REPO, ".dependency-cruiser-known-violations.json");
const exec = promisify(execFile);

interface Violation { from: string; to: string; rule: { name: string }; cycle?: { name: string }[] }
const key = (v: Violation): string => `${v.rule.name}: ${v.from} → ${v.to}${v.cycle ? ` (cycle ${v.cycle.map((c) => c.name).join(" → ")})` : ""}`;

describe("engine layers", () => {
  it("has exactly the known violations: none added, and a fixed one is taken off the list", async () => {
    const { stdout } = await exec(join(REPO, "node_modules", ".bin", "depcruise"), ["src", "--config", join(REPO, ".dependency-cruiser.cjs"), "--output-type", "json"], {
      cwd: join(REPO, "engine"), maxBuffer: 64 << 20,
    }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      if (e.stdout) return { stdout: e.stdout }; // it exits non-zero when it finds violations
      throw new Error(`depcruise failed: ${e.stderr ?? e.message}`);
    });
    const found = (JSON.parse(stdout) as { summary: { violations: Violation[] } }).summary.violations.map(key).sort();
    const known = (JSON.parse(readFileSync(KNOWN, "utf8")) as Violation[]).map(key).sort();
    expect(found.filter((v) => !known.includes(v)), "new violations").toEqual([]);
    expect(known.filter((v) => !found.includes(v)), "fixed: remove from .dependency-cruiser-known-violations.json").toEqual([]);
  }, 120_000);

  it("keeps SQL in store/: no other module reaches a database handle", () => {
    const src = join(REPO, "engine", "src");
    const offenders = (readdirSync(src, { recursive: true }) as string[])
      .filter((f) => f.endsWith(".ts") && !f.startsWith("store/"))
      .filter((f) => /\b(db|database)\s*\.\s*(prepare|exec|transaction|pragma)\s*\(|\bws\.db\b/.test(readFileSync(join(src, f), "utf8")));
    expect(offenders).toEqual([]);
  });
});
