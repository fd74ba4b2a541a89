// The run's private Docker engine (started by globalSetup.ts), for test files.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { inject } from "vitest";
import type { PythonBuildStatus } from "./globalSetup.js";

const exec = promisify(execFile);
const IMAGES = { busybox: "pipebook-test/busybox:1", python: "pipebook-test/python:1" } as const;
const PYTHON_WAIT_MS = 240_000;

/** Throws the reason there is no engine, so docker tests fail loudly instead of skipping. */
function engineOrThrow(): string {
  const error = inject("dockerError");
  if (error) throw new Error(`no Docker engine for this test run: ${error}`);
  const host = inject("dockerHost");
  if (!host) throw new Error("no Docker engine for this test run: is test/support/globalSetup.ts the vitest globalSetup?");
  return host;
}

/** `unix:///…/docker.sock` of this run's engine (for DOCKER_HOST or a client's socketPath). */
export function dockerHost(): string {
  return engineOrThrow();
}

/**
 * The image's name once it exists. The Python image is built in the background while tests run
 * (about a minute on a fresh machine, seconds once its rootfs is cached), so this may wait.
 */
export async function testImage(kind: "busybox" | "python"): Promise<string> {
  engineOrThrow();
  if (kind === "busybox") return IMAGES.busybox;
  const statusFile = inject("pythonImageStatus");
  const deadline = Date.now() + PYTHON_WAIT_MS;
  for (;;) {
    const status = JSON.parse(await readFile(statusFile, "utf8")) as PythonBuildStatus;
    if (status.state === "ready") return status.image;
    if (status.state === "failed") {
      throw new Error(`building ${status.image} failed: ${status.error ?? "unknown error"}\n${await logTail(status.log)}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${status.image} still building after ${PYTHON_WAIT_MS / 1000} s\n${await logTail(status.log)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Runs the docker CLI against this run's engine; resolves to stdout, rejects with stderr. */
export async function docker(...args: string[]): Promise<string> {
  const host = engineOrThrow();
  try {
    const { stdout } = await exec(inject("dockerCli"), ["-H", host, ...args], { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (e) {
    const { stderr, message } = e as { stderr?: string; message: string };
    throw new Error(`docker ${args.join(" ")} failed: ${stderr?.trim() || message}`);
  }
}

async function logTail(path: string): Promise<string> {
  if (!path) return "";
  const text = await readFile(path, "utf8").catch(() => "");
  return `${path} ends:\n${text.trimEnd().split("\n").slice(-30).join("\n")}`;
}
