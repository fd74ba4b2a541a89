// Whole-process CLI benchmarks (issue 13): what a user waits for when they type a command.
//
//   - `pipebook --help`, `pipebook runs`, `pipebook why RUN STEP` (goal ≤ 150 ms wall each),
//     next to `node -e 0` (the floor: starting Node at all);
//   - a no-op rerun of examples/iris as one `pipebook run` process (goal ≤ 300 ms), and the same
//     on an equivalent Snakefile when `snakemake` is installed;
//   - a fresh chain of 50 trivial Python steps through `pipebook run`: engine time per step over
//     the steps' own durations (goal ≤ 3 ms), where a step's own duration is the same Python
//     script started directly, 50 times in a row, from a small Node process.
//
// With PIPEBOOK_BENCH_BASELINE=<commit>, every figure is also measured for a built copy of that
// commit (bench/baseline.mjs), interleaved with this checkout's, and reported under `before`:
// the shared machine's speed drifts too much for figures from two runs to compare.
// Prints one JSON object on its last line.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { baselineCheckout } from "./baseline.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const ROUNDS = Number(process.env.PIPEBOOK_BENCH_ROUNDS ?? 9);
const CHAIN = 50;
// Rounds that include the 50-step chain (slow: a fresh run of 50 Python steps per subject);
// PIPEBOOK_BENCH_CHAIN_ROUNDS=0 leaves the chain out, for the fixed costs alone.
const CHAIN_ROUNDS = Math.min(ROUNDS, Number(process.env.PIPEBOOK_BENCH_CHAIN_ROUNDS ?? 3));
const Database = createRequire(import.meta.url)("better-sqlite3");
const log = (s) => process.stderr.write(`[cli.bench] ${s}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/**
 * GNU time, where installed: the CPU time (user + system) of each process besides its wall time.
 * On a loaded shared machine wall time mostly measures the queue for the two cores; CPU time
 * drifts less.
 */
const GNU_TIME = existsSync("/usr/bin/time") && spawnSync("/usr/bin/time", ["-f", "%U %S", "true"], { encoding: "utf8" }).status === 0 ? "/usr/bin/time" : undefined;
const CPU_MARK = "@@cpu";

/** Wall time (and CPU time, with GNU time) of one process, from spawn to exit, in ms; throws on a non-zero exit. */
function timed(argv, cwd, env = process.env) {
  const full = GNU_TIME ? [GNU_TIME, "-f", `${CPU_MARK} %U %S`, ...argv] : argv;
  const t = performance.now();
  const r = spawnSync(full[0], full.slice(1), { cwd, env, encoding: "utf8", maxBuffer: 64 << 20 });
  const ms = performance.now() - t;
  const mark = GNU_TIME ? new RegExp(`^${CPU_MARK} ([\\d.]+) ([\\d.]+)$`, "m").exec(r.stderr) : null;
  const stderr = GNU_TIME ? r.stderr.replace(new RegExp(`^${CPU_MARK} .*$`, "m"), "") : r.stderr;
  if (r.status !== 0) throw new Error(`${argv.join(" ")} exited ${r.status}: ${(stderr || r.stdout).trim().split("\n").slice(-3).join(" | ")}`);
  return { ms, cpuMs: mark ? (Number(mark[1]) + Number(mark[2])) * 1000 : undefined, stdout: r.stdout };
}

/** A chain of CHAIN Python steps, each reading its predecessor's output and writing its own. */
const chainFile = `import { join } from "node:path";
import { Pipeline, PipelineData, PythonScriptStep, Workspace } from "pipebook";
const ws = await Workspace.fromConfig();
const data = Array.from({ length: ${CHAIN} }, (_, i) => new PipelineData(\`d\${i}\`));
export const pipeline = new Pipeline(ws, {
  steps: data.map((d, i) => new PythonScriptStep({
    name: \`s\${i}\`, scriptName: "step.py", sourceDirectory: join(process.cwd(), "chain_src"),
    arguments: ["--output", d], inputs: i > 0 ? [data[i - 1]] : [], outputs: [d],
  })),
});
`;
const stepScript = "import sys\n";

/** One checkout under test: its CLI, its iris example and a workspace of its own. */
function setUp(name, dir) {
  // Per process: two benches at once on a shared checkout must not share a workspace.
  const work = join(dir, "bench", "work", `cli-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, "chain_src"), { recursive: true });
  writeFileSync(join(work, "pipebook.json"), JSON.stringify({ name: `cli-bench-${name}` }));
  writeFileSync(join(work, "chain.ts"), chainFile);
  writeFileSync(join(work, "chain_src", "step.py"), stepScript);
  const bin = join(dir, "engine", "bin", "pipebook.js");
  const cli = (...args) => [process.execPath, bin, ...args];
  const iris = join(dir, "examples", "iris", "pipeline.ts");
  // First runs: every step runs, so the figures below time reruns and inspection.
  timed(cli("run", iris, "-q"), work);
  const runId = /run (\S+) completed/.exec(timed(cli("run", iris, "-q"), work).stdout)?.[1];
  if (!runId) throw new Error(`${name}: the iris rerun did not complete`);
  if (CHAIN_ROUNDS > 0) timed(cli("run", "chain.ts", "-q"), work);
  return { name, dir, work, cli, iris, runId };
}

/** The interpreter the engine runs for "python3" (sys.executable: a pyenv shim is not run per step). */
const python = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).stdout.trim();

/** 50 runs of the step's own script, one after another, as the chain runs them. */
async function pythonChainMs(work) {
  const script = join(work, "chain_src", "step.py");
  const t = performance.now();
  for (let i = 0; i < CHAIN; i++) {
    await new Promise((resolve, reject) => {
      const c = spawn(python, ["-u", script, "--output", join(work, "direct-out")], { stdio: "ignore", cwd: work });
      c.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`python3 exited ${code}`))));
      c.once("error", reject);
    });
  }
  return performance.now() - t;
}

/** The Snakefile twin of examples/iris: same scripts, same arguments, folders as outputs. */
function snakemakeIris(work) {
  const iris = join(root, "examples", "iris");
  const py = (dir, script) => `PYTHONPATH=${join(root, "engine", "runtime", "python")} python3 ${join(iris, dir, script)}`;
  writeFileSync(join(work, "Snakefile"), `
rule all:
    input: "out/report"
rule prepare:
    input: "${join(iris, "data", "iris.csv")}"
    output: directory("out/prepped")
    shell: "mkdir -p {output} && ${py("prep", "prepare.py")} --input {input} --output {output}"
rule train:
    input: "out/prepped"
    output: directory("out/model")
    shell: "mkdir -p {output} && ${py("train", "train.py")} --data {input} --model {output} --learning_rate 0.1"
rule baseline:
    input: "out/prepped"
    output: directory("out/baseline_model")
    shell: "mkdir -p {output} && ${py("baseline", "baseline.py")} --data {input} --model {output}"
rule compare:
    input: "out/model", "out/baseline_model"
    output: directory("out/report")
    shell: "mkdir -p {output} && ${py("compare", "compare.py")} --models {input} --report {output}"
`);
  timed(["snakemake", "-c1", "-q"], work);
  return () => timed(["snakemake", "-c1", "-q"], work).ms;
}

/**
 * The engine's time between two steps of the chain, from the store: a step's start (its process
 * started) minus the previous one's end (its process ended and its outputs were recorded). The
 * steps' own time, Python included, is not in it, so it does not drown in Python's variance.
 */
function gapPerStep(work, runId) {
  const db = new Database(join(work, ".pipebook", "pipebook.db"), { readonly: true });
  try {
    const run = db.prepare("SELECT started_at FROM runs WHERE id = ?").get(runId);
    const steps = db.prepare("SELECT started_at, ended_at FROM step_runs WHERE run_id = ? ORDER BY ordinal").all(runId);
    let previous = Date.parse(run.started_at);
    let gaps = 0;
    for (const st of steps) {
      gaps += Date.parse(st.started_at) - previous;
      previous = Date.parse(st.ended_at);
    }
    return gaps / steps.length;
  } finally {
    db.close();
  }
}

const baseline = baselineCheckout();
const subjects = [setUp("after", root), ...(baseline ? [setUp("before", baseline.dir)] : [])];
const hasSnakemake = spawnSync("snakemake", ["--version"], { stdio: "ignore" }).status === 0;
let snakemake;
if (hasSnakemake) {
  const work = join(root, "bench", "work", `cli-snakemake-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  snakemake = { work, rerun: snakemakeIris(work), times: [] };
}

const samples = new Map(subjects.map((s) => [s.name, { cpu: { node: [], help: [], runs: [], why: [], irisNoop: [] }, node: [], help: [], runs: [], why: [], irisNoop: [], chainFresh: [], chainFreshRunMs: [], chainGapMs: [], chainNoop: [], python: [] }]));
/**
 * The CLI's grammar bundle (engine/scripts/buildCli.mjs), rebuilt before a round where the
 * checkout has one and it is stale: the bin falls back to the separate files when a `tsc -b` since
 * the last build changed what it was built from (the check engine/bin/pipebook.js makes), and on
 * a shared checkout that happens mid-bench. Returns whether it rebuilt.
 */
function buildCliBundle(dir) {
  const script = join(dir, "engine", "scripts", "buildCli.mjs");
  if (!existsSync(script)) return false;
  const cli = join(dir, "engine", "dist", "cli");
  try {
    const { inputs } = JSON.parse(readFileSync(join(cli, "main.bundle.json"), "utf8"));
    const current = Object.entries(inputs).every(([file, [size, mtimeMs]]) => {
      const st = statSync(join(cli, file), { throwIfNoEntry: false });
      return st !== undefined && st.size === size && st.mtimeMs === mtimeMs;
    });
    if (current) return false;
  } catch {
    // Not built yet: build it.
  }
  spawnSync(process.execPath, [script], { cwd: dir, stdio: "inherit" });
  return true;
}
let bundleRebuilds = 0;

for (let r = 0; r < ROUNDS; r++) {
  log(`round ${r + 1}/${ROUNDS}`);
  for (const s of subjects) if (buildCliBundle(s.dir)) bundleRebuilds++;
  // Each round starts with the other subject: a process's end (its launcher, threads, the disk
  // writes it leaves) spills into the next command's time, so a fixed order biases one side.
  for (const s of r % 2 === 0 ? subjects : [...subjects].reverse()) {
    const m = samples.get(s.name);
    const take = (key, r) => {
      m[key].push(r.ms);
      if (r.cpuMs !== undefined) m.cpu[key].push(r.cpuMs);
    };
    take("node", timed([process.execPath, "-e", "0"], s.work));
    take("help", timed(s.cli("--help"), s.work));
    take("runs", timed(s.cli("runs"), s.work));
    take("why", timed(s.cli("why", s.runId, "train"), s.work));
    take("irisNoop", timed(s.cli("run", s.iris, "-q"), s.work));
    if (snakemake && s.name === "after") snakemake.times.push(snakemake.rerun());
    // The chain is slow; three of each are enough for a median.
    if (r < CHAIN_ROUNDS) {
      m.python.push(await pythonChainMs(s.work));
      const fresh = timed(s.cli("run", "chain.ts", "-q", "--regenerate"), s.work);
      m.chainFresh.push(fresh.ms);
      // The run's own time as the engine records it (submit to end), printed in its summary line.
      // "850ms" / "1.2s" (older builds), "850 ms" / "1.2 s" / "2 m 05 s" (formatDuration).
      const inRun = /completed in (?:(\d+) m )?([\d.]+) ?(ms|s)\b/.exec(fresh.stdout);
      if (inRun) m.chainFreshRunMs.push(Number(inRun[1] ?? 0) * 60_000 + Number(inRun[2]) * (inRun[3] === "s" ? 1000 : 1));
      const id = /run (\S+) completed/.exec(fresh.stdout)?.[1];
      if (id) m.chainGapMs.push(gapPerStep(s.work, id));
      m.chainNoop.push(timed(s.cli("run", "chain.ts", "-q"), s.work).ms);
    }
  }
}

function figures(m) {
  if (m.chainFresh.length === 0) return { ...fixedCosts(m), chain50: { skipped: "PIPEBOOK_BENCH_CHAIN_ROUNDS=0" } };
  return { ...fixedCosts(m), chain50: chainFigures(m) };
}

function fixedCosts(m) {
  return {
    nodeMs: round(median(m.node)),
    helpMs: round(median(m.help)),
    runsMs: round(median(m.runs)),
    whyMs: round(median(m.why)),
    irisNoopRerunMs: round(median(m.irisNoop)),
    ...(m.cpu.node.length > 0 && {
      cpuMs: Object.fromEntries(Object.entries(m.cpu).map(([k, xs]) => [k, Math.round(median(xs))])),
    }),
  };
}

function chainFigures(m) {
  const python = median(m.python);
  const fresh = median(m.chainFresh);
  const noop = median(m.chainNoop);
  return {
    freshRunMs: round(fresh), noopRunMs: round(noop), pythonDirectMs: round(python),
    // Fixed costs (start, load the file, open the store, snapshot) are what a no-op rerun of
    // the same file pays; what is left over the steps' own time is the engine's, per step.
    engineMsPerStep: round((fresh - noop - python) / CHAIN, 2),
    ...(m.chainFreshRunMs.length > 0 && { engineMsPerStepInRun: round((median(m.chainFreshRunMs) - python) / CHAIN, 2) }),
    ...(m.chainGapMs.length > 0 && { gapMsPerStep: round(median(m.chainGapMs), 2) }),
  };
}

const after = figures(samples.get("after"));
const out = {
  rounds: ROUNDS,
  method: "wall time of whole processes (spawn to exit), median of interleaved rounds; cpuMs: the same processes' user + system CPU time (GNU time), medians; chain50.engineMsPerStep = (fresh `pipebook run --regenerate` − no-op rerun of the same file − 50 direct runs of step.py by the interpreter the engine resolves) / 50; engineMsPerStepInRun = (the run's own recorded time − the direct runs) / 50; gapMsPerStep = mean time from a step's end to the next one's start, from the store",
  load_average: loadavg().map((x) => round(x, 2)),
  cliBundle: `engine/scripts/buildCli.mjs run before a round where a subject's bundle was stale: ${bundleRebuilds} time(s)`,
  ...after,
  ...(baseline && { before: { commit: baseline.sha, ...figures(samples.get("before")) } }),
  snakemake: snakemake
    ? { irisNoopRerunMs: round(median(snakemake.times)), pipebookVsSnakemake: round(after.irisNoopRerunMs / median(snakemake.times), 2) }
    : { skipped: "snakemake is not installed on this machine (and there is no PyPI to install it from): no comparison this run" },
  goals: { helpMs: 150, runsMs: 150, whyMs: 150, irisNoopRerunMs: 300, chain50EngineMsPerStep: 3 },
  goals_met: {
    help: after.helpMs <= 150, runs: after.runsMs <= 150, why: after.whyMs <= 150, irisNoopRerun: after.irisNoopRerunMs <= 300,
    ...(after.chain50.skipped === undefined && { chain50: after.chain50.engineMsPerStep <= 3 }),
  },
};
for (const work of [...subjects.map((s) => s.work), snakemake?.work]) if (work) rmSync(work, { recursive: true, force: true });
console.log(JSON.stringify(out));
