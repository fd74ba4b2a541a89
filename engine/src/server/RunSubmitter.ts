import { createHash } from "node:crypto";
import type { ParameterValue, RunStatus } from "../contract/runView.js";
import { PipelineParameter } from "../dsl/PipelineParameter.js";
import type { Workspace } from "../workspace/Workspace.js";
import { PublishError } from "../publish/PublishError.js";
import { PublishStore } from "../store/PublishStore.js";
import { resolveTarget } from "../publish/resolveTarget.js";
import type { ScheduleTarget } from "../store/ScheduleStore.js";
import { resolveParameters } from "../runner/resolveParameters.js";
import { currentOwner, isAlive } from "../compute/processIdentity.js";
import { newRunId } from "../runner/newRunId.js";
import { HttpError } from "./HttpError.js";
import type { RunQueue } from "./RunQueue.js";

export interface SubmitRequest {
  readonly target: ScheduleTarget;
  readonly experiment: string;
  readonly parameterAssignments: Readonly<Record<string, ParameterValue>>;
  readonly regenerateOutputs?: boolean;
  readonly source: "api" | "schedule";
}

export interface Submitted {
  readonly runId: string;
  /** The published pipeline that ran. */
  readonly pipelineId?: string;
  readonly experiment: string;
  readonly status: RunStatus;
  readonly parameters: Readonly<Record<string, ParameterValue>>;
  /** True when an Idempotency-Key matched an earlier request: no new run was made. */
  readonly replayed: boolean;
}

/** How long a key is remembered: retries come within minutes; a week covers a long outage. */
const KEY_RETENTION_MS = 7 * 24 * 3600 * 1000;

/** How long a request waits for another server that holds its key's claim to record the run. */
const CLAIM_WAIT_MS = 30_000;
const CLAIM_POLL_MS = 20;

/** Printable ASCII, as Stripe-style idempotency keys are. */
const KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;

/**
 * Starts runs of published pipelines for REST calls and schedules: resolves the target, refuses
 * disabled pipelines and bad parameters before taking a queue slot, and makes a retried request
 * with the same Idempotency-Key return the run the first one made (also across restarts and
 * between servers on one workspace: keys are claimed in the store before the run is made;
 * concurrent duplicates wait for the first).
 */
export class RunSubmitter {
  private readonly pending = new Map<string, Promise<{ submitted: Submitted; hash: string }>>();
  private readonly store: PublishStore;

  constructor(
    private readonly ws: Workspace,
    private readonly queue: RunQueue,
  ) {
    this.store = PublishStore.of(ws);
    this.store.purgeIdempotencyKeys(new Date(Date.now() - KEY_RETENTION_MS).toISOString());
  }

  async submit(request: SubmitRequest, idempotency?: { readonly key: string; readonly caller: string }): Promise<Submitted> {
    if (!idempotency) return this.start(request);
    return this.once(idempotency, requestHash(request), (runId) => this.start(request, runId));
  }

  /**
   * Any submit made safe to retry by its Idempotency-Key (POST /runs's unpublished runs too):
   * `start` makes the run with the id claimed for the key; a retry with the same key and request
   * hash gets that run back, with another request 422.
   */
  async once(idempotency: { readonly key: string; readonly caller: string }, hash: string, start: (runId: string) => Promise<Submitted>): Promise<Submitted> {
    if (!KEY_PATTERN.test(idempotency.key)) throw new HttpError(400, "header Idempotency-Key must be 1–200 printable ASCII characters", { fields: ["Idempotency-Key"], code: "request-invalid", reason: "idempotency-key-invalid" });
    const key = `${idempotency.caller}\u0000${idempotency.key}`;
    const inFlight = this.pending.get(key);
    if (inFlight) {
      const first = await inFlight;
      return this.replay(first.hash, hash, first.submitted.runId);
    }
    const attempt = this.claimAndStart(key, hash, start);
    this.pending.set(key, attempt);
    try {
      return (await attempt).submitted;
    } finally {
      this.pending.delete(key);
    }
  }

  /**
   * Claims the key, with the id its run will have, in the store before any work, as payment APIs
   * do: of two servers on one workspace exactly one inserts the key's row and makes the run; the
   * other replays it once the store holds it. A claim whose server process died before the run was
   * recorded is taken over and the run made with the claimed id; one that died after finds its
   * run. So a retry after a crash at any point answers the same run.
   */
  private async claimAndStart(key: string, hash: string, start: (runId: string) => Promise<Submitted>): Promise<{ submitted: Submitted; hash: string }> {
    const me = currentOwner();
    const giveUpAt = Date.now() + CLAIM_WAIT_MS;
    for (;;) {
      const fresh = newRunId();
      const claim = this.store.claimIdempotencyKey(key, hash, fresh, me, new Date().toISOString());
      let runId: string | undefined;
      if (claim.claimed) {
        runId = fresh;
        crashPoint("idempotency-claimed");
      } else {
        const { held } = claim;
        if (held.requestHash !== hash) throw keyReused();
        if (held.runMade) return { submitted: this.replay(held.requestHash, hash, held.runId!), hash };
        const owner = held.owner;
        const ownerDied = owner !== null && owner.host === me.host && !isAlive(owner.pid, owner.start);
        if (ownerDied) runId = this.store.takeOverIdempotencyKey(key, owner, me, fresh);
      }
      if (runId !== undefined) {
        let submitted: Submitted;
        try {
          submitted = await start(runId);
        } catch (err) {
          this.store.releaseIdempotencyKey(key, me);
          throw err;
        }
        crashPoint("run-created");
        return { submitted, hash };
      }
      if (Date.now() > giveUpAt) {
        throw new HttpError(409, "another pipebook server is still making the run for this Idempotency-Key; retry the request", { fields: ["Idempotency-Key"], reason: "idempotency-key-busy" });
      }
      await new Promise((r) => setTimeout(r, CLAIM_POLL_MS));
    }
  }

  private replay(firstHash: string, hash: string, runId: string): Submitted {
    if (firstHash !== hash) throw keyReused();
    const run = this.ws.runs.getRun(runId);
    if (!run) throw new PublishError({ reason: "run-not-found", runId });
    const origin = this.store.originOfRun(runId);
    return { runId, ...(origin && { pipelineId: origin.pipelineId }), experiment: run.experiment, status: run.status, parameters: run.parameters, replayed: true };
  }

  private async start(request: SubmitRequest, runId?: string): Promise<Submitted> {
    const { pipeline, via } = await resolveTarget(this.ws, request.target);
    if (!pipeline.enabled) throw new PublishError({ reason: "pipeline-disabled", id: pipeline.id, name: pipeline.name });
    // Checked before a queue slot is taken: a bad request never costs capacity.
    const parameters = resolveParameters(pipeline.parameters.map((p) => new PipelineParameter(p.name, p.defaultValue)), request.parameterAssignments);
    const run = await this.queue.submit((startWhen) =>
      pipeline.submit(request.experiment, {
        parameterAssignments: request.parameterAssignments,
        source: request.source,
        startWhen,
        ...(runId !== undefined && { runId }),
        ...(via !== undefined && { via }),
        ...(request.regenerateOutputs !== undefined && { regenerateOutputs: request.regenerateOutputs }),
      }),
    );
    return { runId: run.id, pipelineId: pipeline.id, experiment: request.experiment, status: run.status, parameters, replayed: false };
  }
}

/**
 * Fault injection for tests, off unless asked: PIPEBOOK_TEST_CRASH_AT=idempotency-claimed (the key
 * and run id are claimed, no run made yet) or run-created (the run is recorded, no answer sent yet)
 * makes this server SIGKILL itself at that point, as a crash would (docs/server.md).
 */
function crashPoint(point: "idempotency-claimed" | "run-created"): void {
  if (process.env["PIPEBOOK_TEST_CRASH_AT"] === point) process.kill(process.pid, "SIGKILL");
}

function keyReused(): HttpError {
  return new HttpError(422, "this Idempotency-Key was already used for a different request", { fields: ["Idempotency-Key"], code: "request-invalid", reason: "idempotency-key-reused" });
}

function requestHash(r: SubmitRequest): string {
  const params = Object.fromEntries(Object.entries(r.parameterAssignments).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return createHash("sha256").update(JSON.stringify([r.target, r.experiment, params, r.regenerateOutputs ?? false])).digest("hex");
}
