import { createHmac, timingSafeEqual } from "node:crypto";
import type { Header, JsonObject, Message, MsgType } from "./messages.js";
import { unreachable } from "../unreachable.js";

const DELIM = Buffer.from("<IDS|MSG>");

/** Why a multipart message was dropped; the transport logs it and carries on. */
export type WireFailure =
  | { readonly reason: "no-delimiter" }
  | { readonly reason: "too-few-frames"; readonly frames: number }
  | { readonly reason: "bad-signature" }
  | { readonly reason: "bad-json"; readonly detail: string };

export type Decoded =
  | { readonly ok: true; readonly identities: Buffer[]; readonly msg: Message<MsgType> }
  | { readonly ok: false; readonly failure: WireFailure };

/** Signs and checks frames with the connection key (HMAC-SHA256; an empty key disables signing). */
export class Signer {
  readonly #key: Buffer;
  constructor(key: string) { this.#key = Buffer.from(key, "utf8"); }

  sign(frames: readonly Uint8Array[]): string {
    if (this.#key.length === 0) return "";
    const h = createHmac("sha256", this.#key);
    for (const f of frames) h.update(f);
    return h.digest("hex");
  }

  /** Constant-time compare, so the time taken leaks nothing about how much of a forged signature matched. */
  verify(signature: Uint8Array, frames: readonly Uint8Array[]): boolean {
    if (this.#key.length === 0) return true;
    const expected = Buffer.from(this.sign(frames), "ascii");
    const got = Buffer.from(signature);
    return got.length === expected.length && timingSafeEqual(got, expected);
  }
}

export function decode(frames: readonly Buffer[], signer: Signer): Decoded {
  const at = frames.findIndex((f) => f.equals(DELIM));
  if (at < 0) return { ok: false, failure: { reason: "no-delimiter" } };
  if (frames.length < at + 6) return { ok: false, failure: { reason: "too-few-frames", frames: frames.length } };
  const sig = frames[at + 1]!;
  const body = frames.slice(at + 2, at + 6);
  if (!signer.verify(sig, body)) return { ok: false, failure: { reason: "bad-signature" } };
  try {
    const [h, p, m, c] = body.map((b) => JSON.parse(b.toString("utf8")) as unknown);
    const header = h as Header;
    if (typeof header?.msg_type !== "string" || typeof header.msg_id !== "string") {
      return { ok: false, failure: { reason: "bad-json", detail: "header lacks msg_type or msg_id" } };
    }
    const msg = {
      header,
      parent_header: (p ?? {}) as Header,
      metadata: (m ?? {}) as JsonObject,
      content: (c ?? {}) as never,
      buffers: frames.slice(at + 6),
    } as Message<MsgType>;
    return { ok: true, identities: frames.slice(0, at), msg };
  } catch (e) {
    return { ok: false, failure: { reason: "bad-json", detail: (e as Error).message } };
  }
}

export function encode(identities: readonly Uint8Array[], msg: Message<MsgType>, signer: Signer): Buffer[] {
  const body = [msg.header, msg.parent_header, msg.metadata, msg.content].map((o) => Buffer.from(JSON.stringify(o), "utf8"));
  return [
    ...identities.map((i) => Buffer.from(i)),
    DELIM,
    Buffer.from(signer.sign(body), "ascii"),
    ...body,
    ...msg.buffers.map((b) => Buffer.from(b)),
  ];
}

export function describeFailure(f: WireFailure): string {
  switch (f.reason) {
    case "no-delimiter": return "message without <IDS|MSG> delimiter";
    case "too-few-frames": return `message with only ${f.frames} frames`;
    case "bad-signature": return "message with an invalid HMAC signature (dropped)";
    case "bad-json": return `message with unparsable JSON: ${f.detail}`;
    default: return unreachable(f);
  }
}
