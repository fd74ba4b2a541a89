import type { Db } from "./openDatabase.js";
import { perWorkspace, StatementCache } from "./StatementCache.js";
import type { DatastoreConfig } from "../dsl/datastoreConfig.js";

/** Named datastores registered from the DSL, and the default one: settings only, never a secret. */
export class DatastoreStore extends StatementCache {
  private constructor(db: Db) {
    super(db);
  }

  static readonly of = perWorkspace((ws) => new DatastoreStore(ws.db));

  list(): { name: string; config: DatastoreConfig }[] {
    const rows = this.sql("SELECT name, config FROM datastores ORDER BY name").all() as { name: string; config: string }[];
    return rows.map((r) => ({ name: r.name, config: JSON.parse(r.config) as DatastoreConfig }));
  }

  put(name: string, config: DatastoreConfig): void {
    this.sql("INSERT OR REPLACE INTO datastores(name, kind, config, created_at) VALUES (?, ?, ?, ?)").run(name, config.kind, JSON.stringify(config), new Date().toISOString());
  }

  defaultName(): string | undefined {
    return (this.sql("SELECT value FROM workspace_settings WHERE key = 'default_datastore'").get() as { value: string } | undefined)?.value;
  }

  setDefaultName(name: string): void {
    this.sql("INSERT OR REPLACE INTO workspace_settings(key, value) VALUES ('default_datastore', ?)").run(name);
  }
}
