import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { IncomingMessage } from "node:http";
import { ApiTokens, hasScope, secretsEqual, sha256, type Scope } from "../auth/ApiTokens.js";
import type { Workspace } from "../workspace/Workspace.js";
import { HttpError } from "./HttpError.js";

/** Who made a request: a stored workspace token, or a token given to `serve --token`. */
export type Caller = { readonly kind: "token"; readonly id: string; readonly scopes: readonly Scope[] } | { readonly kind: "server-token"; readonly index: number; readonly scopes: readonly Scope[] };

export function callerKey(c: Caller): string {
  return c.kind === "token" ? `token:${c.id}` : `server:${c.index}`;
}

const callers = new WeakMap<Request, Caller>();

export function callerOf(req: Request): Caller {
  const c = callers.get(req);
  if (!c) throw new Error("route used callerOf without authentication");
  return c;
}

/**
 * Bearer-token authentication. Workspace tokens are checked against their stored SHA-256 in
 * constant time; tokens given on the command line (`serve --token`, what the workbench
 * launcher uses) are held only as hashes in memory and have every scope.
 */
export class Authenticator {
  private readonly tokens: ApiTokens;
  private readonly serverTokens: readonly Buffer[];

  constructor(ws: Workspace, serverTokens: readonly string[]) {
    this.tokens = new ApiTokens(ws);
    this.serverTokens = serverTokens.map(sha256);
  }

  /** The caller for a presented token, or undefined. Query tokens are for browsers' WebSocket/EventSource only. */
  identify(req: IncomingMessage, allowQueryToken: boolean): Caller | undefined {
    const header = req.headers.authorization;
    let presented: string | undefined;
    if (typeof header === "string") {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      presented = m?.[1];
    } else if (allowQueryToken) {
      presented = new URL(req.url ?? "/", "http://x").searchParams.get("access_token") ?? undefined;
    }
    if (presented === undefined || presented.length > 200) return undefined;
    let matched = -1;
    // Compare against every server token, without stopping early.
    this.serverTokens.forEach((hash, i) => {
      if (secretsEqual(presented, hash)) matched = i;
    });
    if (matched >= 0) return { kind: "server-token", index: matched, scopes: ["admin"] };
    const check = this.tokens.verify(presented);
    return check.ok ? { kind: "token", id: check.token.id, scopes: check.token.scopes } : undefined;
  }

  /** Middleware: 401 without a valid token, 403 when the token lacks `scope`. */
  require(scope: Scope, options: { allowQueryToken?: boolean } = {}): RequestHandler {
    return this.requireAny([scope], options);
  }

  /** Middleware: 401 without a valid token, 403 when the token has none of `scopes`. */
  requireAny(scopes: readonly Scope[], options: { allowQueryToken?: boolean } = {}): RequestHandler {
    const wanted = scopes.map((s) => `"${s}"`).join(" or ");
    return (req: Request, _res: Response, next: NextFunction) => {
      const caller = this.identify(req, options.allowQueryToken ?? false);
      if (!caller) throw new HttpError(401, "a valid bearer token is required (Authorization: Bearer <token>)", { headers: { "WWW-Authenticate": 'Bearer realm="pipebook"' } });
      if (!scopes.some((scope) => hasScope(caller.scopes, scope))) throw new HttpError(403, `this token does not have the ${wanted} scope`);
      callers.set(req, caller);
      next();
    };
  }
}
