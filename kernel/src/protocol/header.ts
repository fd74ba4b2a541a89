import { randomUUID } from "node:crypto";
import { PROTOCOL_VERSION, type Contents, type Header, type Message, type MsgType } from "./messages.js";

/** Builds an outgoing message as a child of `parent` (or with no parent). */
export function makeMessage<T extends MsgType>(
  msgType: T, content: Contents[T], parent: Message | undefined, session: string,
  metadata: Record<string, unknown> = {},
): Message<T> {
  const header: Header & { msg_type: T } = {
    msg_id: randomUUID(), session, username: "kernel", date: new Date().toISOString(),
    msg_type: msgType, version: PROTOCOL_VERSION,
  };
  return { header, parent_header: parent ? parent.header : {}, metadata, content, buffers: [] };
}
