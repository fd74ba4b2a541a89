import type { Channel, Message, MsgType } from "../protocol/messages.js";

/** What the I/O worker tells the main thread. */
export type FromIo =
  | { readonly type: "ready" }
  | { readonly type: "message"; readonly channel: Channel; readonly identities: Uint8Array[]; readonly msg: Message<MsgType> }
  /** A control-channel interrupt: the worker already replied; the main thread stops the cell. */
  | { readonly type: "interrupt" }
  | { readonly type: "fatal"; readonly error: string };

/** What the main thread tells the I/O worker. */
export type ToIo =
  | { readonly type: "send"; readonly channel: Channel; readonly identities: Uint8Array[]; readonly msg: Message<MsgType> }
  /** The main thread saw the interrupt, so it is not stuck in synchronous code. */
  | { readonly type: "interrupt-ack" }
  | { readonly type: "close" };

export interface IoWorkerData {
  readonly connectionFile: string;
  readonly session: string;
}
