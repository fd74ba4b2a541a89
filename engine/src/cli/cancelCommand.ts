import { isTerminalRunStatus } from "../contract/runView.js";
import { openRunHistory } from "../workspace/openRunHistory.js";
import { CliError } from "./CliFailure.js";
import { findRun } from "./findRun.js";
import { projectServer } from "../remote/projectServer.js";

/** How long `pipebook cancel` waits for the run's process to stop its steps and end the run. */
const WAIT_MS = 60_000;
const POLL_MS = 100;

/**
 * `pipebook cancel RUN`: asks the process that owns the run (a `pipebook run`, a notebook's
 * kernel, a server) through the store, and waits until the run has ended. A run whose process
 * died is ended when the workspace is opened (recovery), so it is reported as already ended.
 */
export async function cancelCommand(id: string): Promise<void> {
  const server = await projectServer();
  if (server) return (await import("./remoteCommands.js")).remoteCancel(server, id);
  const ws = await openRunHistory();
  const runId = await findRun(ws, id);
  const ended = (): string | undefined => {
    const status = ws.runs.getRun(runId)!.status;
    return isTerminalRunStatus(status) ? status : undefined;
  };
  if (!ws.runs.requestCancel(runId, new Date().toISOString())) {
    throw new CliError({ reason: "run-ended", runId, status: ended() });
  }
  for (let waited = 0; waited < WAIT_MS && ended() === undefined; waited += POLL_MS) await new Promise((r) => setTimeout(r, POLL_MS));
  const status = ended();
  if (status === undefined) {
    const owner = ws.runs.getRun(runId)!.owner;
    process.stdout.write(`asked to cancel run ${runId}; its process${owner ? ` (pid ${owner.pid} on ${owner.host})` : ""} has not ended it after ${WAIT_MS / 1000} s\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`run ${runId} ${status}\n`);
  process.exitCode = status === "canceled" ? 0 : 1;
}
