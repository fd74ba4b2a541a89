/**
 * The Jupyter messaging protocol (5.3), as types. Every message the kernel reads or writes is a
 * member of a union tagged by `msg_type`; a request maps to its reply through `ReplyTypeOf`, so a
 * handler cannot answer `comm_info_request` with the wrong reply type (tslab's bug).
 */

export const PROTOCOL_VERSION = "5.3";

export interface Header {
  readonly msg_id: string;
  readonly session: string;
  readonly username: string;
  readonly date: string;
  readonly msg_type: string;
  readonly version: string;
}

export type MimeBundle = Record<string, unknown>;
export type JsonObject = Record<string, unknown>;

export interface HelpLink { readonly text: string; readonly url: string }

/** Content of every message type this kernel understands, keyed by msg_type. */
export interface Contents {
  kernel_info_request: Record<string, never>;
  kernel_info_reply: {
    status: "ok";
    protocol_version: string;
    implementation: string;
    implementation_version: string;
    language_info: {
      name: string; version: string; mimetype: string; file_extension: string;
      codemirror_mode: string | JsonObject; pygments_lexer: string;
    };
    banner: string;
    help_links: HelpLink[];
    debugger: false;
  };
  execute_request: {
    code: string; silent?: boolean; store_history?: boolean;
    user_expressions?: Record<string, string>; allow_stdin?: boolean; stop_on_error?: boolean;
  };
  execute_reply: ExecuteReplyContent;
  inspect_request: { code: string; cursor_pos: number; detail_level?: 0 | 1 };
  inspect_reply: { status: "ok"; found: boolean; data: MimeBundle; metadata: JsonObject };
  complete_request: { code: string; cursor_pos: number };
  complete_reply: {
    status: "ok"; matches: string[]; cursor_start: number; cursor_end: number;
    metadata: { _jupyter_types_experimental?: { start: number; end: number; text: string; type: string; signature?: string }[] };
  };
  is_complete_request: { code: string };
  is_complete_reply: { status: "complete" | "incomplete" | "invalid" | "unknown"; indent?: string };
  history_request: {
    output?: boolean; raw?: boolean; hist_access_type: "range" | "tail" | "search";
    session?: number; start?: number; stop?: number; n?: number; pattern?: string; unique?: boolean;
  };
  history_reply: { status: "ok"; history: [number, number, string][] | [number, number, [string, string | null]][] };
  comm_info_request: { target_name?: string };
  comm_info_reply: { status: "ok"; comms: Record<string, { target_name: string }> };
  comm_open: { comm_id: string; target_name: string; data: JsonObject; target_module?: string };
  comm_msg: { comm_id: string; data: JsonObject };
  comm_close: { comm_id: string; data: JsonObject };
  shutdown_request: { restart: boolean };
  shutdown_reply: { status: "ok"; restart: boolean };
  interrupt_request: Record<string, never>;
  interrupt_reply: { status: "ok" };
  input_request: { prompt: string; password: boolean };
  input_reply: { value: string };
  status: { execution_state: "busy" | "idle" | "starting" };
  stream: { name: "stdout" | "stderr"; text: string };
  execute_input: { code: string; execution_count: number };
  execute_result: { execution_count: number; data: MimeBundle; metadata: JsonObject };
  display_data: { data: MimeBundle; metadata: JsonObject; transient: { display_id?: string } };
  update_display_data: { data: MimeBundle; metadata: JsonObject; transient: { display_id: string } };
  clear_output: { wait: boolean };
  error: ErrorContent;
}

export interface ErrorContent { ename: string; evalue: string; traceback: string[] }

export type ExecuteReplyContent =
  | { status: "ok"; execution_count: number; user_expressions: JsonObject; payload: JsonObject[] }
  | ({ status: "error"; execution_count: number; user_expressions: JsonObject; payload: JsonObject[] } & ErrorContent)
  | { status: "aborted"; execution_count: number; user_expressions: JsonObject; payload: JsonObject[] };

export type MsgType = keyof Contents;

/** Requests that arrive on shell or control and the reply each one gets. */
export interface ReplyTable {
  kernel_info_request: "kernel_info_reply";
  execute_request: "execute_reply";
  inspect_request: "inspect_reply";
  complete_request: "complete_reply";
  is_complete_request: "is_complete_reply";
  history_request: "history_reply";
  comm_info_request: "comm_info_reply";
  shutdown_request: "shutdown_reply";
  interrupt_request: "interrupt_reply";
}
export type RequestType = keyof ReplyTable;
export type ReplyTypeOf<R extends RequestType> = ReplyTable[R];

/** Messages without a reply that a front end sends on shell. */
export type CommMsgType = "comm_open" | "comm_msg" | "comm_close";

export const REPLY_TYPE: { readonly [R in RequestType]: ReplyTable[R] } = {
  kernel_info_request: "kernel_info_reply",
  execute_request: "execute_reply",
  inspect_request: "inspect_reply",
  complete_request: "complete_reply",
  is_complete_request: "is_complete_reply",
  history_request: "history_reply",
  comm_info_request: "comm_info_reply",
  shutdown_request: "shutdown_reply",
  interrupt_request: "interrupt_reply",
};

export interface Message<T extends MsgType = MsgType> {
  readonly header: Header & { readonly msg_type: T };
  /** Empty object when the message has no parent. */
  readonly parent_header: Header | Record<string, never>;
  readonly metadata: JsonObject;
  readonly content: Contents[T];
  readonly buffers: readonly Uint8Array[];
}

/** A message that came in, with the ZeroMQ routing identities it came from. */
export type IncomingMessage = {
  [T in MsgType]: { readonly channel: Channel; readonly identities: readonly Uint8Array[]; readonly msg: Message<T> };
}[MsgType];

export type Channel = "shell" | "control" | "stdin" | "iopub";

export function isRequestType(t: string): t is RequestType {
  return Object.prototype.hasOwnProperty.call(REPLY_TYPE, t);
}

const KNOWN: ReadonlySet<string> = new Set<string>([
  ...Object.keys(REPLY_TYPE), "comm_open", "comm_msg", "comm_close", "input_reply",
]);

/** Narrows a parsed message to the union when its msg_type is one the kernel handles. */
export function isKnownIncoming(msgType: string): msgType is RequestType | CommMsgType | "input_reply" {
  return KNOWN.has(msgType);
}
