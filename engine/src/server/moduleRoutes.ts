import { Router } from "express";
import type { ModuleReply } from "../contract/rest.js";
import { ModuleError } from "../dsl/ModuleFailure.js";
import type { Workspace } from "../workspace/Workspace.js";
import { param } from "./param.js";
import type { ServerContext } from "./ServerContext.js";

/** Modules, read only: publishing a version snapshots a local folder, which is the SDK's and the CLI's job. */
export function moduleRoutes(ctx: ServerContext): Router {
  const r = Router();
  const { ws, auth } = ctx;
  r.get("/modules", auth.require("read"), (_req, res) => {
    res.json(ws.modules.list().map((m) => moduleReply(ws, m.name)) satisfies ModuleReply[]);
  });
  r.get("/modules/:name", auth.require("read"), (req, res) => {
    const name = param(req, "name");
    if (!ws.modules.get(name)) throw new ModuleError({ reason: "module-unknown", name });
    res.json(moduleReply(ws, name) satisfies ModuleReply);
  });
  return r;
}

function moduleReply(ws: Workspace, name: string): ModuleReply {
  const m = ws.modules.get(name)!;
  return {
    name: m.name,
    description: m.description,
    defaultVersion: m.defaultVersion ?? null,
    state: m.state,
    versions: ws.modules.versions(name).map((v) => {
      const d = v.definition;
      return {
        version: v.version, state: v.state, kind: d.kind,
        program: d.scriptName ?? (typeof d.command === "string" ? d.command : JSON.stringify(d.command ?? [])),
        inputs: [...d.inputs], outputs: [...d.outputs], digest: v.digest, description: v.description, createdAt: v.createdAt,
      };
    }),
  };
}
