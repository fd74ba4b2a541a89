import type { Request } from "express";
import { HttpError } from "./HttpError.js";

/** A path parameter as one string (express types allow arrays for wildcard segments). */
export function param(req: Request, name: string): string {
  const v: unknown = (req.params as Record<string, unknown>)[name];
  if (typeof v !== "string") throw new HttpError(400, `path parameter "${name}" is missing`);
  return v;
}
