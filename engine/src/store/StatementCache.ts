import type { Statement } from "better-sqlite3";
import type { Workspace } from "../workspace/Workspace.js";
import type { Db } from "./openDatabase.js";

/** The base of every store: statements prepared once per SQL text, since preparing costs more than running these small ones. */
export abstract class StatementCache {
  private readonly prepared = new Map<string, Statement>();

  protected constructor(protected readonly db: Db) {}

  protected sql(text: string): Statement {
    let st = this.prepared.get(text);
    if (!st) {
      st = this.db.prepare(text);
      this.prepared.set(text, st);
    }
    return st;
  }
}

/** One instance per open workspace, made on first use: `const storeOf = perWorkspace((ws) => new X(ws.db))`. */
export function perWorkspace<T>(make: (ws: Workspace) => T): (ws: Workspace) => T {
  const made = new WeakMap<Workspace, T>();
  return (ws) => {
    let v = made.get(ws);
    if (v === undefined) {
      v = make(ws);
      made.set(ws, v);
    }
    return v;
  };
}
