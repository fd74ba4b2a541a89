import type { Db } from "./openDatabase.js";

/** Adds to `named` each SHA-256 digest (64 lowercase hex characters) that `text` holds. */
export function addDigestsIn(text: string, named: Set<string>): void {
  for (const m of text.matchAll(/[0-9a-f]{64}/g)) named.add(m[0]);
}

/**
 * Every SHA-256 digest any record of the store names, in any table and column: runs' graphs
 * (each step's snapshot manifest and source files), published pipelines' specs, module and
 * dataset versions, schedules, the stat cache. For `pipebook gc`: a blob so named is kept. Going
 * by the text rather than by each table's shape keeps a blob a future table names too: keeping a
 * blob too many costs disk, dropping one a record names loses that record's content.
 */
export function digestsNamedInStore(db: Db): Set<string> {
  const named = new Set<string>();
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").pluck().all() as string[];
  for (const table of tables) {
    for (const row of db.prepare(`SELECT * FROM "${table.replaceAll('"', '""')}"`).raw().iterate() as IterableIterator<unknown[]>) {
      for (const value of row) if (typeof value === "string" && value.length >= 64) addDigestsIn(value, named);
    }
  }
  return named;
}
