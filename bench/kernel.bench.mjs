// Kernel benchmark (issue 3): execute round trip of `1+1` over 200 executes and start-to-ready,
// driven by jupyter_client (test/kernel/driver.py), for the pipebook kernel, ipykernel (Debian's
// python3-ipykernel) and tslab (npm-installed into a temporary folder for this run only).
// Goals: p50 <= 2 ms, p95 <= 4 ms, start <= 0.6 s. Prints one JSON object on its last line.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const driver = join(root, "test", "kernel", "driver.py");
const PY = "/usr/bin/python3";
const N = Number(process.env.PIPEBOOK_BENCH_N ?? 200);
/** Rounds per kernel, interleaved, so a busy moment of the machine does not land on one kernel only. */
const ROUNDS = Number(process.env.PIPEBOOK_BENCH_ROUNDS ?? 3);
const work = mkdtempSync(join(tmpdir(), "pipebook-kernel-bench-"));
const kernels = join(work, "share", "jupyter", "kernels");
const log = (s) => process.stderr.write(`[kernel.bench] ${s}\n`);

function has(pyModule) {
  return spawnSync(PY, ["-c", `import ${pyModule}`], { stdio: "ignore" }).status === 0;
}

function bench(kernelName) {
  const r = spawnSync(PY, [driver, "bench", String(N)], {
    cwd: work, encoding: "utf8", timeout: 300_000,
    env: { ...process.env, JUPYTER_PATH: join(work, "share", "jupyter"), PIPEBOOK_TEST_KERNEL: kernelName, PIPEBOOK_KERNEL_HISTORY: join(work, "history.jsonl") },
  });
  const last = (r.stdout ?? "").trim().split("\n").pop() ?? "";
  try { return JSON.parse(last); } catch { return { kernel: kernelName, error: (r.stderr ?? "").trim().split("\n").slice(-3).join(" | ") || `exit ${r.status}` }; }
}

/** Of several rounds, the one with the middle p50 (all rounds are kept under `rounds`). */
function middle(rounds) {
  const ok = rounds.filter((r) => typeof r.p50_ms === "number").sort((a, b) => a.p50_ms - b.p50_ms);
  if (ok.length === 0) return rounds[0] ?? { error: "no rounds" };
  return { ...ok[Math.floor((ok.length - 1) / 2)], rounds: rounds.map((r) => ({ p50_ms: r.p50_ms, p95_ms: r.p95_ms, start_s: r.start_s, hangs: r.hangs })) };
}

const results = {};
try {
  if (!has("jupyter_client")) throw new Error("jupyter_client is missing: apt-get install jupyter-client python3-jupyter-kernel-test");
  const { installKernelSpec } = await import(join(root, "kernel", "dist", "install.js"));
  await installKernelSpec({ prefix: work, name: "pipebook-bench" });
  mkdirSync(join(kernels, "floor-bench"), { recursive: true });
  writeFileSync(join(kernels, "floor-bench", "kernel.json"), JSON.stringify({
    argv: [process.execPath, join(root, "kernel", "bench", "floorKernel.mjs"), "-f", "{connection_file}"], display_name: "floor", language: "none",
  }));

  if (!has("ipykernel") && process.getuid?.() === 0) {
    log("installing python3-ipykernel for the comparison");
    spawnSync("apt-get", ["install", "-y", "--no-install-recommends", "python3-ipykernel"], { stdio: "ignore" });
  }
  const withIpykernel = has("ipykernel");
  if (withIpykernel) {
    mkdirSync(join(kernels, "ipykernel-bench"), { recursive: true });
    writeFileSync(join(kernels, "ipykernel-bench", "kernel.json"), JSON.stringify({
      argv: [PY, "-m", "ipykernel_launcher", "-f", "{connection_file}"], display_name: "ipykernel", language: "python",
    }));
  } else results.ipykernel = { error: "python3-ipykernel not installed" };
  const rounds = { pipebook: [], ipykernel: [], floor: [] };
  for (let r = 0; r < ROUNDS; r++) {
    log(`round ${r + 1}/${ROUNDS}: pipebook, ipykernel, floor`);
    rounds.pipebook.push(bench("pipebook-bench"));
    if (withIpykernel) rounds.ipykernel.push(bench("ipykernel-bench"));
    rounds.floor.push(bench("floor-bench"));
  }
  results.pipebook = middle(rounds.pipebook);
  if (withIpykernel) results.ipykernel = middle(rounds.ipykernel);
  results.floor = middle(rounds.floor);

  try {
    const tslabDir = join(work, "tslab");
    mkdirSync(tslabDir, { recursive: true });
    log("installing tslab@1.0.22 into a temporary folder");
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--no-save", "--prefix", tslabDir, "tslab@1.0.22"], { stdio: "ignore", timeout: 240_000 });
    const bin = join(tslabDir, "node_modules", "tslab", "bin", "tslab");
    if (!existsSync(bin)) throw new Error("tslab did not install");
    mkdirSync(join(kernels, "tslab-bench"), { recursive: true });
    writeFileSync(join(kernels, "tslab-bench", "kernel.json"), JSON.stringify({
      argv: [process.execPath, bin, "kernel", "--config-path", "{connection_file}"], display_name: "tslab", language: "typescript",
    }));
    log("tslab");
    results.tslab = bench("tslab-bench");
  } catch (e) {
    results.tslab = { error: String(e.message ?? e).split("\n")[0] };
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const p = results.pipebook ?? {};
const out = {
  n: N,
  method: "jupyter_client BlockingKernelClient; round trip = execute_request until execute_reply and idle; start = start_new_kernel until kernel_info reply; middle of interleaved rounds; floor = a Node kernel that does no work (client + transport time)",
  rounds: ROUNDS,
  load_average: (await import("node:os")).loadavg().map((x) => Math.round(x * 100) / 100),
  pipebook: p, ipykernel: results.ipykernel, tslab: results.tslab,
  floor: results.floor,
  goals: { p50_ms: 2, p95_ms: 4, start_s: 0.6 },
  goals_met: { p50: p.p50_ms !== undefined && p.p50_ms <= 2, p95: p.p95_ms !== undefined && p.p95_ms <= 4, start: p.start_s !== undefined && p.start_s <= 0.6 },
};
console.log(JSON.stringify(out));
