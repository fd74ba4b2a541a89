import { Router } from "express";
import type { DatasetVersionReply } from "../contract/rest.js";
import { Dataset, TabularDataset } from "../dsl/Dataset.js";
import { DatasetError } from "../datasets/DatasetFailure.js";
import { param } from "./param.js";
import type { ServerContext } from "./ServerContext.js";

/** Profiles by version digest: a version never changes, and a profile reads every row. */
const profiles = new Map<string, NonNullable<DatasetVersionReply["profile"]>>();

/** A registered dataset version with its profile (what a data node of the run graph links to). */
export function datasetRoutes(ctx: ServerContext): Router {
  const r = Router();
  const { ws, auth } = ctx;
  r.get("/datasets/:name/versions/:version", auth.require("read"), async (req, res) => {
    const name = param(req, "name");
    const version = Number(param(req, "version"));
    const v = Number.isInteger(version) ? ws.datasets.get(name, version) : undefined;
    if (!v) {
      const latest = ws.datasets.latest(name);
      throw new DatasetError(latest ? { reason: "version-unknown", name, version: param(req, "version"), latest: latest.version } : { reason: "dataset-unknown", name });
    }
    let profile = profiles.get(v.digest);
    const ds = Dataset.getByName(ws, name, { version });
    if (profile === undefined && ds instanceof TabularDataset) {
      const p = await ds.profile({ workspace: ws });
      profile = { rowCount: p.rowCount, ...p.table() };
      if (profiles.size > 100) profiles.clear();
      profiles.set(v.digest, profile);
    }
    res.json({
      name: v.name, version: v.version, description: v.description, kind: v.definition.kind, fileCount: v.fileCount, bytes: v.bytes, createdAt: v.createdAt,
      ...(v.lineage && { registeredBy: { runId: v.lineage.runId, step: v.lineage.stepName, output: v.lineage.output } }),
      ...(profile && { profile }),
    } satisfies DatasetVersionReply);
  });
  return r;
}
