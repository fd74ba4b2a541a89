import { spawnSync } from "node:child_process";
import { parentPort, workerData } from "node:worker_threads";
import { GIT_STATUS_ARGS, parseGitStatus } from "./parseGitStatus.js";

/**
 * Worker side of readGitInfo: one `git status --porcelain=v2 --branch` in the repository's top
 * folder, which says the commit, the branch and whether anything changed in one process. It runs
 * here because starting a process blocks its caller for the whole fork (15–20 ms from an engine
 * holding 150 MB on a busy machine): here that blocks this thread, not the engine's event loop.
 */
const { root } = workerData as { root: string };
const r = spawnSync("git", ["-C", root, ...GIT_STATUS_ARGS], { encoding: "utf8", timeout: 10_000, maxBuffer: 8 << 20, stdio: ["ignore", "pipe", "ignore"] });
// A status too long for the buffer is a very dirty tree: its header lines came first.
const overflowed = (r.error as NodeJS.ErrnoException | undefined)?.code === "ENOBUFS";
parentPort?.postMessage(r.status === 0 || overflowed ? parseGitStatus(root, r.stdout ?? "", overflowed) : undefined);
