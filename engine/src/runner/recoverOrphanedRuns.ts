import { hostname } from "node:os";
import type { RunStore } from "../store/RunStore.js";
import { isAlive, killGroup } from "../compute/processIdentity.js";
import { stopStepProcesses } from "../compute/stopStepProcesses.js";

/**
 * Runs whose owning process died (killed engine, closed kernel) stay "running" in the store
 * forever unless someone notices. Every process that opens the workspace checks: a run whose
 * owner on this host is gone is marked failed with the reason, its unfinished steps failed or
 * skipped, and step processes it left behind are stopped. Completed steps keep their results,
 * so a resubmit reuses them. A run still queued (accepted, never started) ends canceled with
 * the reason a caller reads: no step ran.
 */
export function recoverOrphanedRuns(ws: { readonly runs: RunStore }): string[] {
  const recovered: string[] = [];
  const host = hostname();
  for (const run of ws.runs.listActiveRuns()) {
    const owner = run.owner;
    if (!owner || owner.host !== host || isAlive(owner.pid, owner.start)) continue;
    const now = new Date().toISOString();
    if (run.status === "queued") {
      // Accepted (a server answered 201 "queued") but never started: nothing ran, nothing failed.
      // It is ended with the reason, not run here: this process did not accept it and may not be
      // a server at all (see docs/server.md).
      const reason = `the process that accepted this run (pid ${owner.pid}) stopped before the run started; no step ran: submit it again`;
      const steps = ws.runs.getSteps(run.id);
      ws.runs.transaction(() => {
        for (const step of steps) ws.runs.updateStep(step.id, { status: "skipped", endedAt: now, error: `not run: ${reason}` });
        ws.runs.setRunStatus(run.id, "canceled", now, reason);
      });
      stopStepProcesses(new Set(steps.map((s) => s.id)));
      recovered.push(run.id);
      continue;
    }
    const reason = `the engine process (pid ${owner.pid}) stopped while the run was in flight`;
    const unfinished: string[] = [];
    ws.runs.transaction(() => {
      for (const step of ws.runs.getSteps(run.id)) {
        if (step.status === "running" || step.status === "queued") unfinished.push(step.id);
        if (step.status === "running") {
          if (step.pid !== null && isAlive(step.pid, step.pidStart)) killGroup(step.pid, "SIGKILL");
          ws.runs.updateStep(step.id, { status: "failed", endedAt: now, error: `interrupted: ${reason}`, pid: null });
        } else if (step.status === "queued") {
          ws.runs.updateStep(step.id, { status: "skipped", endedAt: now, error: `not run: ${reason}` });
        }
      }
      ws.runs.setRunStatus(run.id, "failed", now, reason);
    });
    // What the store cannot name: a step started just before its pid was recorded (the store says
    // "queued"), and descendants that left their step's group (setsid). Both carry the step's id.
    stopStepProcesses(new Set(unfinished));
    recovered.push(run.id);
  }
  return recovered;
}
