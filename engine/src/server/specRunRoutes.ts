import express, { Router } from "express";
import { realpath } from "node:fs/promises";
import { join, sep } from "node:path";
import { SpecRunRequestSchema, type OutputFiles, type RunSubmitted, type StepWhy } from "../contract/rest.js";
import { hashTree } from "../fingerprint/hashTree.js";
import { callerKey, callerOf } from "./Authenticator.js";
import type { Submitted } from "./RunSubmitter.js";
import { listOutputFiles } from "../runner/downloadRunOutputs.js";
import { explainDecision } from "../explain/formatDecision.js";
import { digestOfJson, type Digest } from "../fingerprint/digest.js";
import { PublishError } from "../publish/PublishError.js";
import { PipelineRun } from "../runner/PipelineRun.js";
import { resolveParameters } from "../runner/resolveParameters.js";
import { PipelineParameter } from "../dsl/PipelineParameter.js";
import type { PipelineSpec } from "../spec/PipelineSpec.js";
import { HttpError } from "./HttpError.js";
import { param } from "./param.js";
import { parseWith } from "./schemas.js";
import type { ServerContext } from "./ServerContext.js";
import { stepRunIdOf } from "../store/RunStore.js";

/** A spec names every file of every step's snapshot: a big source folder makes a big body. */
const SPEC_BODY_LIMIT = "16mb";

/** Unpublished runs submitted by remote workspaces, and `why` for any run's step. */
export function specRunRoutes(ctx: ServerContext): Router {
  const r = Router();
  const { ws, auth, queue } = ctx;

  r.post("/runs", auth.require("runs:submit"), express.json({ limit: SPEC_BODY_LIMIT }), async (req, res) => {
    const body = parseWith(SpecRunRequestSchema, req.body, "body");
    const spec = body.spec as unknown as PipelineSpec;
    await checkSnapshots(ctx, spec);
    // Checked before a queue slot is taken, as for published pipelines.
    const parameters = resolveParameters(spec.parameters.map((p) => new PipelineParameter(p.name, p.defaultValue)), body.parameterAssignments ?? {});
    const start = async (runId?: string): Promise<Submitted> => {
      const run = await queue.submit((startWhen) =>
        PipelineRun.submitSpec(ws, body.experiment, spec, {
          source: body.source ?? "sdk",
          startWhen,
          git: body.git ?? null,
          onPrepare: () => undefined,
          ...(runId !== undefined && { runId }),
          ...(body.parameterAssignments !== undefined && { parameterAssignments: body.parameterAssignments }),
          ...(body.regenerateOutputs !== undefined && { regenerateOutputs: body.regenerateOutputs }),
        }),
      );
      return { runId: run.id, experiment: body.experiment, status: run.status, parameters, replayed: false };
    };
    // With an Idempotency-Key (a remote workspace sends one per submit), a retried request gets the
    // run the first one made, claimed in the store as for published pipelines' runs.
    const key = req.get("Idempotency-Key");
    const submitted = key === undefined ? await start() : await ctx.submitter.once({ key, caller: callerKey(callerOf(req)) }, digestOfJson(["POST /runs", body]), start);
    if (submitted.replayed) res.set("Idempotent-Replayed", "true");
    res.status(201).json({ Id: submitted.runId, Status: submitted.status, ExperimentName: submitted.experiment, ParameterAssignments: submitted.parameters, RunUrl: `/runs/${encodeURIComponent(submitted.runId)}` } satisfies RunSubmitted);
  });

  r.get("/runs/:id/steps/:step/why", auth.require("read"), (req, res) => {
    const runId = param(req, "id");
    if (!ws.runs.getRun(runId)) throw new PublishError({ reason: "run-not-found", runId });
    const s = ws.runs.getStep(stepRunIdOf(runId, param(req, "step")));
    if (!s) throw new HttpError(404, `run "${runId}" has no step "${param(req, "step")}"`);
    const lines = s.decision ? explainDecision(s.decision) : [`step ${s.name} is ${s.status}: no decision yet`];
    res.json({ runId, step: s.name, status: s.status, lines: [...lines], ...(s.keyDigest && { key: s.keyDigest }) } satisfies StepWhy);
  });

  // An output's files by content, each put in the blob store so GET /blobs/{digest} serves it:
  // what `pipebook download` and run.downloadOutputs fetch (only the files the caller lacks).
  r.get("/runs/:id/steps/:step/outputs/:name/files", auth.require("read"), async (req, res) => {
    const runId = param(req, "id");
    if (!ws.runs.getRun(runId)) throw new PublishError({ reason: "run-not-found", runId });
    const step = ws.runs.getStep(stepRunIdOf(runId, param(req, "step")));
    if (!step) throw new HttpError(404, `run "${runId}" has no step "${param(req, "step")}"`);
    const output = ws.runs.getOutputs(step.id).find((o) => o.name === param(req, "name"));
    if (!output) throw new HttpError(404, `step "${step.name}" has no output "${param(req, "name")}"`);
    const [realWorkspace, root] = await Promise.all([realpath(ws.dir), realpath(output.path).catch(() => undefined)]);
    if (root === undefined || !root.startsWith(realWorkspace + sep)) throw new HttpError(404, `output "${output.name}" of step "${step.name}" is no longer in this server's workspace`);
    const listed = await listOutputFiles(root);
    const tree = await hashTree(root, { cache: ws.statCache, pool: ws.hashPool });
    const files = listed.map((f) => ({ path: f.path, size: f.size, digest: tree.files.get(f.path)! }));
    for (const f of files) await ws.blobs.putFile(f.path === "" ? root : join(root, ...f.path.split("/")), f.digest as Digest);
    res.json({ runId, step: step.name, output: output.name, ...(output.digest && { hash: output.digest }), files } satisfies OutputFiles);
  });

  return r;
}

/**
 * Every step's code must be in this server's blob store, and its manifest must list exactly the
 * files its spec names: the reuse key is computed from the spec's list, the step runs the
 * manifest's, and they must be the same code.
 */
async function checkSnapshots(ctx: ServerContext, spec: PipelineSpec): Promise<void> {
  const missing: string[] = [];
  for (const step of spec.steps) {
    if (step.module) continue; // a module version's code is the server's own
    // Snapshot files are written below the step's working folder by these paths.
    const outside = Object.keys(step.source).find((p) => p === "" || p.startsWith("/") || p.includes("\\") || p.split("/").some((part) => part === ".." || part === "." || part === ""));
    if (outside !== undefined) throw new HttpError(400, `step "${step.name}" names source file "${outside.slice(0, 200)}", which is not a relative path inside its folder`, { fields: [`spec.steps.${step.name}.source`] });
    const files = Object.values(step.source) as Digest[];
    if (step.manifest === undefined) {
      if (files.length > 0) throw new HttpError(400, `step "${step.name}" names source files but no snapshot manifest`, { fields: [`spec.steps.${step.name}.manifest`] });
      continue;
    }
    const digests = [step.manifest as Digest, ...files];
    const present = await Promise.all(digests.map((d) => ctx.ws.blobs.has(d)));
    const absent = digests.filter((_, i) => !present[i]);
    if (absent.length > 0) {
      missing.push(...absent);
      continue;
    }
    let listed: unknown;
    try {
      listed = JSON.parse(await ctx.ws.blobs.readText(step.manifest as Digest));
    } catch {
      throw new HttpError(400, `the snapshot manifest of step "${step.name}" (blob ${step.manifest.slice(0, 12)}) is not a manifest`);
    }
    if (!sameFiles(listed, step.source)) throw new HttpError(400, `the snapshot manifest of step "${step.name}" does not list the files its spec names`);
  }
  if (missing.length > 0) {
    const unique = [...new Set(missing)];
    throw new HttpError(409, `${unique.length} blob${unique.length === 1 ? "" : "s"} of the run's code ${unique.length === 1 ? "is" : "are"} not on this server (first: ${unique[0]}): upload ${unique.length === 1 ? "it" : "them"} first (POST /blobs/missing, PUT /blobs/{digest})`);
  }
}

function sameFiles(listed: unknown, source: Readonly<Record<string, string>>): boolean {
  if (typeof listed !== "object" || listed === null || Array.isArray(listed)) return false;
  const a = Object.entries(listed as Record<string, unknown>);
  return a.length === Object.keys(source).length && a.every(([path, digest]) => source[path] === digest);
}
