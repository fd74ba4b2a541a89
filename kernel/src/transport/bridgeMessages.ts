import type { Message, MsgType } from "../protocol/messages.js";

/** What the control thread tells the main thread. */
export type FromIo =
  | { readonly type: "ready" }
  /** A control-channel request other than interrupt (kernel_info, shutdown, ...). */
  | { readonly type: "message"; readonly identities: Uint8Array[]; readonly msg: Message<MsgType> }
  /** A control-channel interrupt: the thread already replied; the main thread stops the cell. */
  | { readonly type: "interrupt"; readonly request: Message<MsgType> }
  | { readonly type: "fatal"; readonly error: string };

/** What the main thread tells the control thread. */
export type ToIo =
  | { readonly type: "send"; readonly identities: Uint8Array[]; readonly msg: Message<MsgType> }
  /** The main thread saw the interrupt, so it is not stuck in synchronous code. */
  | { readonly type: "interrupt-ack" }
  | { readonly type: "close" };

export interface IoWorkerData {
  readonly connectionFile: string;
  readonly session: string;
  /** The main thread's RunState (execute/runState.ts). */
  readonly runState: SharedArrayBuffer;
}
