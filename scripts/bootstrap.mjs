// Makes a fresh clone runnable: installs npm packages (when the lock file changed) and the
// Debian packages the tests and the workbench use (when missing and we are root).
// Idempotent and quiet when there is nothing to do, so `npm test` / `npm start` can always call it.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Debian packages: Jupyter's server and clients (kernel and workbench tests), Chromium (browser
 * tests), a Docker engine and what the docker tests build their images and private bridge with
 * (busybox, debootstrap, iproute2), pip/venv/wheel/setuptools to build and install wheels
 * without PyPI, and Slurm with munge (the slurm tests start a one-node cluster of their own).
 */
const DEBIAN_PACKAGES = [
  "jupyter-client", "python3-jupyter-kernel-test", "python3-jupyter-server", "python3-jupyterlab-server",
  "python3-nbconvert", "jupyter-nbconvert", "jupyter-console", "python3-nbclient", "python3-ipykernel",
  "chromium", "fonts-liberation",
  "docker.io", "busybox-static", "debootstrap", "iproute2",
  "python3-venv", "python3-pip", "python3-wheel", "python3-setuptools",
  "slurm-wlm", "munge",
];

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", cwd: root, ...opts });
  if (r.status !== 0) {
    console.error(`bootstrap: ${cmd} ${args.join(" ")} failed (exit ${r.status})`);
    process.exit(r.status ?? 1);
  }
}

function missingDebianPackages() {
  if (!existsSync("/usr/bin/dpkg-query")) return [];
  return DEBIAN_PACKAGES.filter((p) => {
    try {
      return !execFileSync("dpkg-query", ["-W", "-f=${Status}", p], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).includes("install ok installed");
    } catch {
      return true;
    }
  });
}

const missing = missingDebianPackages();
if (missing.length > 0) {
  if (process.getuid?.() === 0) {
    console.log(`bootstrap: installing Debian packages: ${missing.join(" ")}`);
    run("apt-get", ["update", "-qq"]);
    run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  } else {
    console.warn(`bootstrap: missing Debian packages (install them as root): ${missing.join(" ")}`);
  }
}

const lock = join(root, "package-lock.json");
const stamp = join(root, "node_modules", ".pipebook-bootstrap");
const digest = createHash("sha256").update(readFileSync(lock)).digest("hex");
if (!existsSync(stamp) || readFileSync(stamp, "utf8") !== digest) {
  console.log("bootstrap: installing npm packages");
  run("npm", existsSync(join(root, "node_modules")) ? ["install", "--no-audit", "--no-fund"] : ["ci", "--no-audit", "--no-fund"]);
  writeFileSync(stamp, digest);
}
