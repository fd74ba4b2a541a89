import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { isAlive } from "../compute/processIdentity.js";
import type { RunContext } from "./runStep.js";

/**
 * Waits while `twinId` — a step of another run (or of this one) with the same key that is
 * about to run or running — is unfinished, so its result can be reused instead of computing the
 * same thing twice. Ends when it ends ("ended": decide again), when its engine on this host is
 * gone ("abandoned": nobody will finish it) or on cancel. The waiting step says so in its live log.
 */
export async function waitForTwin(ctx: RunContext, stepName: string, twinId: string): Promise<"ended" | "abandoned" | "canceled"> {
  const twin = ctx.ws.runs.getStep(twinId);
  if (!twin) return "ended";
  const note = `[pipebook] waiting for the identical step ${twin.name} of run ${twin.runId}, to reuse its result instead of computing it again\n`;
  ctx.recorder.observeOnly({ type: "log", step: stepName, text: note });
  ctx.emit({ type: "step-log", runId: ctx.runId, step: stepName, stream: "stderr", text: note });
  const here = hostname();
  while (!ctx.signal.aborted) {
    const row = ctx.ws.runs.getStep(twinId);
    if (!row || (row.status !== "queued" && row.status !== "running")) return "ended";
    const owner = ctx.ws.runs.getRun(row.runId)?.owner;
    if (owner && owner.host === here && !isAlive(owner.pid, owner.start)) return "abandoned";
    await sleep(200, undefined, { signal: ctx.signal }).catch(() => undefined);
  }
  return "canceled";
}
