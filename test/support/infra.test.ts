// Proves the shared docker and wheel helpers work on this machine, with real processes.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, dockerHost, testImage } from "./docker.js";
import { buildWheels } from "./wheels.js";

const exec = promisify(execFile);

function get(socketPath: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c)).on("end", () => resolve(body));
    });
    req.on("error", reject).end();
  });
}

describe("docker test engine", () => {
  it("answers /_ping on its own socket", async () => {
    const host = dockerHost();
    expect(host).toMatch(/^unix:\/\//);
    expect(await get(host.slice("unix://".length), "/_ping")).toBe("OK");
  });

  it("runs a busybox container", async () => {
    expect(await docker("run", "--rm", await testImage("busybox"), "echo", "hi")).toBe("hi\n");
  });

  it("has a Python image with pip", async () => {
    const image = await testImage("python");
    expect(await docker("run", "--rm", image, "python3", "-c", "import sys; print(sys.version)")).toMatch(/^3\.11\./);
    expect(await docker("run", "--rm", image, "python3", "-m", "pip", "--version")).toMatch(/^pip \d+/);
  }, 300_000);
});

describe("buildWheels", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pipebook-infra-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("builds a wheel that pip installs into a fresh venv", async () => {
    const wheels = await buildWheels(join(dir, "wheels"), [{ name: "pbdemo", version: "1.2.3" }]);
    const venv = join(dir, "venv");
    await exec("/usr/bin/python3", ["-m", "venv", venv]);
    const py = join(venv, "bin", "python");
    await exec(py, ["-m", "pip", "install", "-q", "--no-index", "--find-links", wheels, "pbdemo==1.2.3"], {
      env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1" },
    });
    const { stdout } = await exec(py, ["-c", "import pbdemo; print(pbdemo.__version__, pbdemo.VERSION)"]);
    expect(stdout).toBe("1.2.3 1.2.3\n");
  }, 120_000);

  it("builds a wheel that pip installs inside the Python image", async () => {
    const wheels = await buildWheels(join(dir, "wheels"), [{ name: "pbdemo", version: "1.2.3" }]);
    const out = await docker("run", "--rm", "-v", `${wheels}:/wheels:ro`, await testImage("python"), "sh", "-c",
      "pip install -q --no-index --find-links /wheels pbdemo==1.2.3 && python3 -c 'import pbdemo; print(pbdemo.VERSION)'");
    expect(out).toBe("1.2.3\n");
  }, 300_000);
});
