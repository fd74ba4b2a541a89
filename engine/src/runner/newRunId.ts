import { randomBytes } from "node:crypto";

/**
 * Sortable and readable: the date and time, then 40 random bits (a server accepting hundreds of
 * runs a second must not draw the same id twice; the run is recorded with a retry on a collision).
 */
export function newRunId(): string {
  const t = new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${t}-${randomBytes(5).toString("hex")}`;
}

export function isIdCollision(err: unknown): boolean {
  return err instanceof Error && (err as { code?: string }).code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}
