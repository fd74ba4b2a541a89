// One private Docker engine per `vitest run`, plus the two local images docker tests use.
// Nothing can be pulled on these machines, so images are made from Debian packages:
// busybox before any test starts, Python (debootstrap) in the background.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, openSync, closeSync, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, rename, rm, symlink, writeFile, copyFile } from "node:fs/promises";
import { request } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { startSlurmCluster } from "./slurmCluster.js";
import { startAzurite } from "./azurite.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** `unix:///…/docker.sock` of this run's engine; "" when dockerError is set. */
    dockerHost: string;
    /** Why there is no engine (tests that need one must fail with it); "" when there is one. */
    dockerError: string;
    /** The docker CLI to run against dockerHost. */
    dockerCli: string;
    /** JSON file describing the background Python image build (see PythonBuildStatus). */
    pythonImageStatus: string;
    /** JSON file describing this run's Slurm cluster (see SlurmClusterStatus in slurmCluster.ts). */
    slurmStatus: string;
    /** Connection string of this run's Azurite (Azure Blob emulator); "" when azuriteError is set. */
    azuriteConnectionString: string;
    /** Why there is no Azurite (tests that need one must fail with it); "" when there is one. */
    azuriteError: string;
  }
}

export interface PythonBuildStatus {
  state: "building" | "ready" | "failed";
  image: string;
  log: string;
  error?: string;
}

export const BUSYBOX_IMAGE = "pipebook-test/busybox:1";
export const PYTHON_IMAGE = "pipebook-test/python:1";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const exec = promisify(execFile);

/** Changing anything here changes the cache key, so a stale rootfs is never reused. */
const PYTHON_RECIPE = {
  revision: 1,
  suite: "bookworm",
  variant: "minbase",
  include: ["python3", "python3-pip"],
  trim: ["usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "var/cache/apt", "var/lib/apt/lists", "var/log"],
  // Debian marks its Python "externally managed" (PEP 668), which makes a plain `pip install`
  // refuse to run; test images stand in for python:3 images, where it works.
  remove: ["usr/lib/python3.11/EXTERNALLY-MANAGED"],
  changes: ["ENV LANG=C.UTF-8", "ENV PIP_ROOT_USER_ACTION=ignore", "ENV PIP_DISABLE_PIP_VERSION_CHECK=1", 'CMD ["python3"]'],
};
const recipeKey = createHash("sha256").update(JSON.stringify(PYTHON_RECIPE)).digest("hex").slice(0, 12);
const ROOTFS_CACHE = join(REPO, "node_modules", ".cache", "pipebook-test", `python-rootfs-${recipeKey}.tar`);

// Runs are named by pid so the next run can clean up after one that was killed: dockerd leaves
// mounts (netns, overlay) and the bridge behind when it cannot shut down.
const RUN_PREFIX = "pbd-";
const BRIDGE_PREFIX = "pbt";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // The Slurm cluster comes up in the background while the Docker engine starts.
  const slurm = await startSlurmCluster();
  project.provide("slurmStatus", slurm.statusFile);
  // Azurite (the Blob service the datastore tests use) starts while the Docker engine does.
  const azuriteStarting = startAzurite().then(
    (a) => (project.provide("azuriteConnectionString", a.connectionString), project.provide("azuriteError", ""), a),
    (e: unknown) => (project.provide("azuriteConnectionString", ""), project.provide("azuriteError", e instanceof Error ? e.message : String(e)), undefined),
  );
  await sweepDeadRuns().catch(() => undefined);
  // /tmp rather than os.tmpdir(): containerd puts unix sockets under the exec root, and a long
  // TMPDIR pushes them past the 108-byte socket path limit.
  const dir = await mkdtemp(`/tmp/${RUN_PREFIX}${process.pid}-`);
  const statusFile = join(dir, "python-image.json");
  const cli = ["/usr/bin/docker", "/usr/local/bin/docker"].find((p) => existsSync(p)) ?? "docker";
  project.provide("dockerCli", cli);
  project.provide("pythonImageStatus", statusFile);

  let engine: Engine | undefined;
  let pythonBuild: { child?: ChildProcess; done: Promise<void> } | undefined;
  try {
    const t0 = Date.now();
    engine = await startEngine(dir, cli);
    const t1 = Date.now();
    await buildBusybox(engine, dir);
    if (process.env.PIPEBOOK_TEST_TIMINGS) console.log(`[docker] engine ${t1 - t0} ms, busybox image ${Date.now() - t1} ms`);
    project.provide("dockerHost", engine.host);
    project.provide("dockerError", "");
    await writeStatus(statusFile, { state: "building", image: PYTHON_IMAGE, log: join(dir, "python-image.log") });
    pythonBuild = buildPythonInBackground(engine, dir, statusFile);
  } catch (e) {
    project.provide("dockerHost", "");
    project.provide("dockerError", e instanceof Error ? e.message : String(e));
    await writeStatus(statusFile, { state: "failed", image: PYTHON_IMAGE, log: "", error: "no Docker engine" });
  }

  const azurite = await azuriteStarting;
  return async () => {
    const slurmStopped = slurm.stop();
    const azuriteStopped = azurite?.stop();
    try {
      if (pythonBuild?.child?.pid !== undefined && pythonBuild.child.exitCode === null) {
        // debootstrap and its chroot'ed dpkg run in the group we started it with.
        try { process.kill(-pythonBuild.child.pid, "SIGTERM"); } catch { /* already gone */ }
      }
      await pythonBuild?.done;
      if (engine) await engine.stop();
      await removeRunDir(dir);
    } finally {
      await slurmStopped;
      await azuriteStopped;
    }
  };
}

interface Engine {
  host: string;
  cli: string;
  stop(): Promise<void>;
}

async function startEngine(dir: string, cli: string): Promise<Engine> {
  if (process.getuid?.() !== 0) throw new Error("docker tests need root: this run starts its own dockerd");
  if (!existsSync("/usr/sbin/dockerd")) throw new Error("dockerd is not installed: run `npm run bootstrap` as root (Debian package docker.io)");

  // The default bridge works here, but it is one `docker0` and one set of iptables chains per
  // machine: two runs at once (two engineers, CI shards) got the same container IPs, and each
  // dockerd rewrites the other's NAT rules at start. So each run gets its own bridge and subnet,
  // and dockerd leaves iptables and ip_forward alone. Containers still reach the host at the
  // bridge address and `-p 127.0.0.1:…` still works (docker-proxy); only outbound NAT is lost,
  // and there is no internet here anyway. `--network host` and `none` work as usual.
  const bridge = `${BRIDGE_PREFIX}${process.pid}`;
  const subnet = await freeSubnet();
  await exec("ip", ["link", "add", bridge, "type", "bridge"]);
  await exec("ip", ["addr", "add", `${subnet}.1/24`, "dev", bridge]);
  await exec("ip", ["link", "set", bridge, "up"]);

  const sock = join(dir, "docker.sock");
  const logPath = join(dir, "dockerd.log");
  const log = openSync(logPath, "a");
  const dockerd = spawn("/usr/sbin/dockerd", [
    `--host=unix://${sock}`, `--data-root=${join(dir, "data")}`, `--exec-root=${join(dir, "x")}`,
    `--pidfile=${join(dir, "dockerd.pid")}`, "--storage-driver=overlay2",
    `--bridge=${bridge}`, "--iptables=false", "--ip-forward=false", "--ip-masq=false",
  ], { stdio: ["ignore", log, log] });
  closeSync(log);
  const exited = new Promise<void>((resolve) => dockerd.once("exit", () => resolve()));

  const stop = async (): Promise<void> => {
    if (dockerd.exitCode === null && dockerd.signalCode === null) {
      try {
        const { stdout } = await exec(cli, ["-H", `unix://${sock}`, "ps", "-aq"], { timeout: 10_000 });
        const ids = stdout.split("\n").filter(Boolean);
        if (ids.length > 0) await exec(cli, ["-H", `unix://${sock}`, "rm", "-f", "-v", ...ids], { timeout: 60_000 });
      } catch { /* the engine is going away regardless */ }
      dockerd.kill("SIGTERM");
      const killed = setTimeout(() => dockerd.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(killed);
    }
    await exec("ip", ["link", "del", bridge]).catch(() => undefined);
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (await ping(sock)) return { host: `unix://${sock}`, cli, stop };
    if (dockerd.exitCode !== null || dockerd.signalCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`dockerd did not start (${dockerd.exitCode !== null ? `exit ${dockerd.exitCode}` : "no answer in 30 s"}); its log ends:\n${tail(logPath, 30)}`);
    }
    await sleep(50);
  }
}

/** A /24 in 10.213.0.0/16 that no interface here uses yet. */
async function freeSubnet(): Promise<string> {
  const { stdout } = await exec("ip", ["-o", "-4", "addr"]);
  for (let i = 0; i < 254; i++) {
    const third = ((process.pid + i) % 254) + 1;
    if (!stdout.includes(` 10.213.${third}.`)) return `10.213.${third}`;
  }
  throw new Error("no free 10.213.x.0/24 subnet for the test bridge");
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/** A static busybox with its applet links: a complete small Linux userland in ~1 MB. */
async function buildBusybox(engine: Engine, dir: string): Promise<void> {
  const busybox = "/bin/busybox";
  if (!existsSync(busybox)) throw new Error("busybox is not installed: run `npm run bootstrap` as root (Debian package busybox-static)");
  const rootfs = join(dir, "busybox-rootfs");
  for (const d of ["bin", "etc", "tmp", "root"]) await mkdir(join(rootfs, d), { recursive: true });
  await chmod(join(rootfs, "tmp"), 0o1777);
  await copyFile(busybox, join(rootfs, "bin", "busybox"));
  await chmod(join(rootfs, "bin", "busybox"), 0o755);
  const { stdout } = await exec(busybox, ["--list"]);
  for (const applet of stdout.split("\n")) {
    if (applet && applet !== "busybox") await symlink("busybox", join(rootfs, "bin", applet));
  }
  await writeFile(join(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
  await writeFile(join(rootfs, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
  const tar = join(dir, "busybox.tar");
  await exec("tar", ["-C", rootfs, "-cf", tar, "."]);
  await exec(engine.cli, ["-H", engine.host, "import", "--change", 'CMD ["sh"]', tar, BUSYBOX_IMAGE]);
  await rm(rootfs, { recursive: true });
  await rm(tar);
}

function buildPythonInBackground(engine: Engine, dir: string, statusFile: string): { child?: ChildProcess; done: Promise<void> } {
  const logPath = join(dir, "python-image.log");
  const handle: { child?: ChildProcess; done: Promise<void> } = { done: Promise.resolve() };
  const build = async (): Promise<void> => {
    const t0 = Date.now();
    if (!existsSync(ROOTFS_CACHE)) {
      const rootfs = join(dir, "python-rootfs");
      const args = [`--variant=${PYTHON_RECIPE.variant}`, `--include=${PYTHON_RECIPE.include.join(",")}`, PYTHON_RECIPE.suite, rootfs, debianMirror(PYTHON_RECIPE.suite)];
      await writeFile(logPath, `debootstrap ${args.join(" ")}\n`);
      const log = openSync(logPath, "a");
      const child = spawn("/usr/sbin/debootstrap", args, { stdio: ["ignore", log, log], detached: true });
      closeSync(log);
      handle.child = child;
      const code = await new Promise<number | null>((resolve, reject) => {
        child.once("error", reject);
        child.once("exit", (c) => resolve(c));
      });
      if (code !== 0) {
        const inner = join(rootfs, "debootstrap", "debootstrap.log");
        throw new Error(`debootstrap exited with ${code}${existsSync(inner) ? `; debootstrap.log ends:\n${tail(inner, 20)}` : ""}`);
      }
      for (const p of [...PYTHON_RECIPE.trim.map((t) => `${t}/`), ...PYTHON_RECIPE.remove]) {
        const target = join(rootfs, p);
        if (p.endsWith("/")) {
          for (const entry of await readdir(target).catch(() => [])) await rm(join(target, entry), { recursive: true, force: true });
        } else {
          await rm(target, { force: true });
        }
      }
      // Written aside and renamed, so a concurrent or interrupted run never sees half a tar.
      await mkdir(dirname(ROOTFS_CACHE), { recursive: true });
      const partial = `${ROOTFS_CACHE}.${process.pid}.partial`;
      try {
        await exec("tar", ["-C", rootfs, "--numeric-owner", "-cf", partial, "."]);
        await rename(partial, ROOTFS_CACHE);
      } finally {
        await rm(partial, { force: true });
      }
      await rm(rootfs, { recursive: true, force: true });
    }
    const t1 = Date.now();
    await exec(engine.cli, ["-H", engine.host, "import", ...PYTHON_RECIPE.changes.flatMap((c) => ["--change", c]), ROOTFS_CACHE, PYTHON_IMAGE]);
    if (process.env.PIPEBOOK_TEST_TIMINGS) console.log(`[docker] python rootfs ${t1 - t0} ms, import ${Date.now() - t1} ms`);
    await writeStatus(statusFile, { state: "ready", image: PYTHON_IMAGE, log: logPath });
  };
  handle.done = build().catch(async (e: unknown) => {
    const error = e instanceof Error ? e.message : String(e);
    await writeStatus(statusFile, { state: "failed", image: PYTHON_IMAGE, log: logPath, error });
  });
  return handle;
}

/** The host's own Debian mirror for `suite` (debootstrap would default to deb.debian.org). */
function debianMirror(suite: string): string {
  try {
    const sources = readFileSync("/etc/apt/sources.list.d/debian.sources", "utf8");
    for (const stanza of sources.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1]?.split(/\s+/) ?? [];
      if (uri && suites.includes(suite)) return uri;
    }
  } catch { /* older layout below */ }
  try {
    const list = readFileSync("/etc/apt/sources.list", "utf8");
    const m = new RegExp(`^deb\\s+(?:\\[[^\\]]*\\]\\s+)?(\\S+)\\s+${suite}\\s`, "m").exec(list);
    if (m?.[1]) return m[1];
  } catch { /* fall through */ }
  return "http://deb.debian.org/debian";
}

async function writeStatus(file: string, status: PythonBuildStatus): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify(status));
  await rename(`${file}.tmp`, file);
}

/** Unmount what dockerd or debootstrap left mounted under `dir`, then remove it. */
async function removeRunDir(dir: string): Promise<void> {
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[4]?.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m): m is string => m !== undefined && m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await exec("umount", ["-l", m]).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}

async function sweepDeadRuns(): Promise<void> {
  const alive = (pid: number): boolean => {
    try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === "EPERM"; }
  };
  for (const name of await readdir("/tmp").catch(() => [])) {
    const pid = new RegExp(`^${RUN_PREFIX}(\\d+)-`).exec(name)?.[1];
    if (pid && !alive(Number(pid))) await removeRunDir(join("/tmp", name));
  }
  const { stdout } = await exec("ip", ["-o", "link", "show", "type", "bridge"]).catch(() => ({ stdout: "" }));
  for (const m of stdout.matchAll(new RegExp(`^\\d+: (${BRIDGE_PREFIX}(\\d+)):`, "gm"))) {
    if (m[1] && !alive(Number(m[2]))) await exec("ip", ["link", "del", m[1]]).catch(() => undefined);
  }
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
