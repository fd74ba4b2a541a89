// A built copy of pipebook at another commit, so that one bench run can measure "before" and
// "after" side by side on the same machine at the same moment (a shared machine's speed drifts
// by tens of percent within minutes: figures from two runs are not comparable).
//
//   PIPEBOOK_BENCH_BASELINE=<commit> node bench/run.mjs cli kernel
//
// The copy lives in bench/work/baseline-<sha>/ (ignored by git), is built once with this
// checkout's TypeScript compiler, and links this checkout's node_modules, except the workspace
// packages (pipebook, @pipebook/kernel), which point into the copy.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The folder of a built copy of `rev` (engine and kernel), or undefined when no baseline was asked for. */
export function baselineCheckout(rev = process.env.PIPEBOOK_BENCH_BASELINE) {
  if (!rev) return undefined;
  const sha = execFileSync("git", ["-C", root, "rev-parse", "--verify", `${rev}^{commit}`], { encoding: "utf8" }).trim();
  const dir = join(root, "bench", "work", `baseline-${sha.slice(0, 12)}`);
  const done = join(dir, ".built");
  if (existsSync(done)) return { dir, sha };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  process.stderr.write(`[baseline] building ${sha.slice(0, 12)} in ${dir}\n`);
  const paths = ["package.json", "tsconfig.base.json", "engine", "kernel", "examples"];
  execFileSync("sh", ["-c", `git -C "${root}" archive ${sha} ${paths.join(" ")} | tar -x -C "${dir}"`], { stdio: "inherit" });
  const modules = join(dir, "node_modules");
  mkdirSync(join(modules, "@pipebook"), { recursive: true });
  for (const name of readdirSync(join(root, "node_modules"))) {
    if (name === "pipebook" || name === "@pipebook" || name === ".bin") continue;
    symlinkSync(join(root, "node_modules", name), join(modules, name));
  }
  symlinkSync("../engine", join(modules, "pipebook"));
  symlinkSync("../../kernel", join(modules, "@pipebook", "kernel"));
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  execFileSync(process.execPath, [tsc, "-b", join(dir, "engine"), join(dir, "kernel")], { stdio: "inherit", cwd: dir });
  // A commit whose CLI is bundled after tsc (engine/scripts/buildCli.mjs) is measured bundled, as `npm run build` leaves it.
  const buildCli = join(dir, "engine", "scripts", "buildCli.mjs");
  if (existsSync(buildCli)) execFileSync(process.execPath, [buildCli], { stdio: "inherit", cwd: dir });
  writeFileSync(done, `${sha}\n`);
  return { dir, sha };
}
