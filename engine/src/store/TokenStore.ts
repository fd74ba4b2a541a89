import type { Db } from "./openDatabase.js";
import { perWorkspace, StatementCache } from "./StatementCache.js";

/** An API token's row: only the SHA-256 of the token is kept. */
export interface TokenRow {
  readonly id: string;
  readonly name: string;
  readonly hash: string;
  readonly scopes: readonly string[];
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

/** The `api_tokens` table (auth/ApiTokens decides what tokens mean). */
export class TokenStore extends StatementCache {
  static readonly of = perWorkspace((ws) => new TokenStore(ws.db));

  private constructor(db: Db) {
    super(db);
  }

  insert(row: Omit<TokenRow, "revokedAt">): void {
    this.sql("INSERT INTO api_tokens(id, name, hash, scopes, created_at) VALUES (?, ?, ?, ?, ?)").run(row.id, row.name, row.hash, JSON.stringify(row.scopes), row.createdAt);
  }

  list(): TokenRow[] {
    return (this.sql("SELECT * FROM api_tokens ORDER BY created_at").all() as Record<string, unknown>[]).map(toRow);
  }

  get(id: string): TokenRow | undefined {
    const r = this.sql("SELECT * FROM api_tokens WHERE id = ?").get(id) as Record<string, unknown> | undefined;
    return r && toRow(r);
  }

  /** Marks a token revoked (keeping the first revocation time); false when there is no such token. */
  revoke(id: string, at: string): boolean {
    return this.sql("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?").run(at, id).changes > 0;
  }
}

function toRow(r: Record<string, unknown>): TokenRow {
  return {
    id: r["id"] as string,
    name: r["name"] as string,
    hash: r["hash"] as string,
    scopes: JSON.parse(r["scopes"] as string) as string[],
    createdAt: r["created_at"] as string,
    revokedAt: (r["revoked_at"] as string | null) ?? null,
  };
}
