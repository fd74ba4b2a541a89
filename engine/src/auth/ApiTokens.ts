import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Workspace } from "../workspace/Workspace.js";
import { checkName } from "../publish/names.js";
import { PublishError } from "../publish/PublishError.js";
import { TokenStore, type TokenRow } from "../store/TokenStore.js";
import { SCOPES, isScope, type Scope } from "./scopes.js";

export { SCOPES, isScope, hasScope, type Scope } from "./scopes.js";

export interface TokenInfo {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

export type TokenCheck = { readonly ok: true; readonly token: TokenInfo } | { readonly ok: false };

/** `pbk_<id>_<secret>`: the id finds the row, the secret (256 random bits) is what proves it. */
const TOKEN_FORMAT = /^pbk_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/;

export function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** Compares two secrets by their SHA-256 in constant time (equal lengths, no early exit). */
export function secretsEqual(presented: string, expectedHash: Buffer): boolean {
  return timingSafeEqual(sha256(presented), expectedHash);
}

const DUMMY_HASH = sha256("pipebook: no such token");

/**
 * Workspace API tokens for `pipebook serve`. Only the SHA-256 of a token is stored; the token
 * itself is shown once, at creation. Revoked tokens stay listed (who had access, until when).
 */
export class ApiTokens {
  private readonly store: TokenStore;

  constructor(ws: Workspace) {
    this.store = TokenStore.of(ws);
  }

  create(name: string, scopes: readonly Scope[]): { token: string; info: TokenInfo } {
    checkName("name", name);
    if (scopes.length === 0) throw new PublishError({ reason: "invalid", field: "scopes", message: `give at least one of ${SCOPES.join(", ")}` });
    const id = randomBytes(6).toString("hex");
    const token = `pbk_${id}_${randomBytes(32).toString("base64url")}`;
    const createdAt = new Date().toISOString();
    const unique = [...new Set(scopes)];
    this.store.insert({ id, name, hash: sha256(token).toString("hex"), scopes: unique, createdAt });
    return { token, info: { id, name, scopes: unique, createdAt, revokedAt: null } };
  }

  list(): TokenInfo[] {
    return this.store.list().map(toInfo);
  }

  revoke(id: string): void {
    if (!this.store.revoke(id, new Date().toISOString())) throw new PublishError({ reason: "token-not-found", id });
  }

  /** Checks a presented token; read from the store each time, so a revocation applies at once. */
  verify(presented: string): TokenCheck {
    const m = TOKEN_FORMAT.exec(presented);
    const row = m ? this.store.get(m[1]!) : undefined;
    const expected = row ? Buffer.from(row.hash, "hex") : DUMMY_HASH;
    // Always compare, so that a wrong id and a wrong secret take the same time.
    const equal = secretsEqual(presented, expected);
    if (!row || !equal || row.revokedAt !== null) return { ok: false };
    return { ok: true, token: toInfo(row) };
  }
}

function toInfo(r: TokenRow): TokenInfo {
  return { id: r.id, name: r.name, scopes: r.scopes.filter(isScope), createdAt: r.createdAt, revokedAt: r.revokedAt };
}
