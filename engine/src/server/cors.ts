import type { NextFunction, Request, Response } from "express";

/**
 * Cross-origin access for the configured origins only (the workbench's Jupyter page calls the
 * server from its own origin). Preflights are answered here, before authentication, as browsers
 * send them without credentials.
 */
export function cors(origins: readonly string[]) {
  const allowed = new Set(origins);
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.get("Origin");
    if (origin !== undefined && (allowed.has(origin) || allowed.has("*"))) {
      res.set("Access-Control-Allow-Origin", allowed.has("*") ? "*" : origin);
      res.vary("Origin");
      res.set("Access-Control-Expose-Headers", "Retry-After, Idempotent-Replayed");
      if (req.method === "OPTIONS") {
        res.set("Access-Control-Allow-Methods", "GET, POST, PUT, OPTIONS");
        res.set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key");
        res.set("Access-Control-Max-Age", "600");
        res.status(204).end();
        return;
      }
    }
    next();
  };
}

/** True when a WebSocket's Origin is this server itself or an allowed origin (browsers always send one). */
export function originAllowed(origin: string | undefined, host: string | undefined, origins: readonly string[]): boolean {
  if (origin === undefined) return true; // not a browser
  if (origins.includes("*") || origins.includes(origin)) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
