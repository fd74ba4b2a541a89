import type { NextFunction, Request, Response } from "express";
import type { ErrorReply } from "../contract/rest.js";
import { toHttpError } from "./toHttpError.js";

/** Writes every failure as `ErrorReply` (`{"error": "sentence", "code"?, "reason"?, "fields"?: [...]}`); internal errors are logged, never sent. */
export function errorMiddleware(log: (line: string) => void) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const { error, internal } = toHttpError(err);
    if (internal) log(`internal error on ${req.method} ${req.originalUrl}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    for (const [k, v] of Object.entries(error.extra.headers ?? {})) res.set(k, v);
    const { fields = [], code, reason } = error.extra;
    const reply: ErrorReply = { error: error.message, ...(code !== undefined && { code }), ...(reason !== undefined && { reason }), ...(fields.length > 0 && { fields }) };
    res.status(error.status).json(reply);
  };
}
