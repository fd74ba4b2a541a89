// Reads the timeline that PIPEBOOK_STEP_TRACE=<prefix> leaves (<prefix>.<pid>, one file per
// process: the engine and its step launcher) and prints, for the steps after the first, the
// median time between consecutive marks of a step's life, then the first step's marks from the
// engine's start (the launcher's boot and mounts show there). docs/run-path.md says how to use it.
//
//   PIPEBOOK_STEP_TRACE=/tmp/t node engine/bin/pipebook.js run chain.ts -q --regenerate
//   node bench/stepTimeline.mjs /tmp/t
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

const prefix = process.argv[2];
if (!prefix) throw new Error("usage: node bench/stepTimeline.mjs <PIPEBOOK_STEP_TRACE prefix>");
const marks = [];
for (const name of readdirSync(dirname(prefix))) {
  if (!name.startsWith(`${basename(prefix)}.`)) continue;
  const pid = name.slice(basename(prefix).length + 1);
  for (const line of readFileSync(join(dirname(prefix), name), "utf8").split("\n")) {
    const [ns, step, mark] = line.split(" ");
    if (mark !== undefined) marks.push({ ns: BigInt(ns), step, mark, pid });
  }
}
marks.sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0));
const byStep = new Map();
for (const m of marks) if (m.step !== "-") byStep.set(m.step, [...(byStep.get(m.step) ?? []), m]);
const steps = [...byStep.keys()];
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (a, b) => Number(b - a) / 1e6;

// A step's life in the order its marks happen (engine, launcher "L-", engine); each segment's
// median over every step but the first (which includes warm-up).
const ORDER = [
  "runStep", "decided", "dirs-made", "snapshot", "resolved", "sent", "L-received", "L-cgroup-entered", "L-spawned", "L-started-sent",
  "started-received", "started-recorded", "L-exit", "L-close", "L-closed-sent", "end-received", "metrics-read", "run-returned", "outputs-hashed", "recorded",
];
const segments = new Map();
for (const step of steps.slice(1)) {
  const at = new Map(byStep.get(step).map((m) => [m.mark, m.ns]));
  const present = ORDER.filter((mark) => at.has(mark));
  for (let i = 1; i < present.length; i++) {
    const key = `${present[i - 1]} -> ${present[i]}`;
    segments.set(key, [...(segments.get(key) ?? []), ms(at.get(present[i - 1]), at.get(present[i]))]);
  }
}
console.log(`${steps.length} steps; medians over steps 2..${steps.length} (ms):`);
for (const [key, xs] of segments) console.log(`  ${key.padEnd(44)} ${median(xs).toFixed(3).padStart(8)}  (n=${xs.length})`);
// A step's last engine mark to the next step's first: the scheduler's part.
const between = [];
for (let i = 1; i < steps.length; i++) {
  const prev = byStep.get(steps[i - 1]).findLast((m) => m.mark === "recorded");
  const next = byStep.get(steps[i]).find((m) => m.mark === "runStep");
  if (prev && next) between.push(ms(prev.ns, next.ns));
}
if (between.length > 0) console.log(`  ${"recorded -> next step's runStep".padEnd(44)} ${median(between).toFixed(3).padStart(8)}`);

const start = marks.find((m) => m.mark === "process-start") ?? marks[0];
console.log(`\nthe first step, from the engine's start (ms):`);
for (const m of marks) {
  if (m.step === "-" || m.step === steps[0]) console.log(`  ${ms(start.ns, m.ns).toFixed(1).padStart(8)}  ${m.pid.padStart(7)}  ${m.step === "-" ? "" : "step "}${m.mark}`);
  if (m.step === steps[0] && m.mark === "recorded") break;
}
