import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { PipebookError } from "../errors/PipebookError.js";

const run = promisify(execFile);
const cache = new Map<string, Promise<{ path: string; version: string }>>();

/**
 * Resolves an interpreter command to its path and version, once per process: the version
 * enters the reuse key (another Python can give other results), the lookup must not cost
 * a process spawn per step.
 */
export function resolveInterpreter(command: string): Promise<{ path: string; version: string }> {
  let hit = cache.get(command);
  if (!hit) {
    hit = run(command, ["-c", "import sys; print(sys.executable); print(sys.version.split()[0])"], { timeout: 20_000 })
      .then(({ stdout }) => {
        const [path = command, version = "unknown"] = stdout.trim().split("\n");
        return { path, version };
      })
      .catch((err: Error) => {
        cache.delete(command);
        throw new PipebookError("step-invalid", `cannot run the Python interpreter "${command}": ${err.message.split("\n")[0]}`);
      });
    cache.set(command, hit);
  }
  return hit;
}
