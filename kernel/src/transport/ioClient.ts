import { Worker } from "node:worker_threads";
import type { Channel, Message, MsgType } from "../protocol/messages.js";
import { endpoint, readConnectionFile } from "../protocol/connection.js";
import { decode, describeFailure, encode, Signer } from "../protocol/wire.js";
import { bindSocket, type FrameSocket } from "./zmqAdapter.js";
import type { FromIo, IoWorkerData, ToIo } from "./bridgeMessages.js";
import { log } from "../log.js";
import { describeUnreachable } from "../unreachable.js";

/** What the kernel needs from its transport; tests can supply their own. */
export interface KernelIo {
  send(channel: Channel, identities: readonly Uint8Array[], msg: Message<MsgType>): void;
  ackInterrupt(): void;
  close(): Promise<void>;
}

export interface IoEvents {
  onMessage(channel: Channel, identities: Uint8Array[], msg: Message<MsgType>): void;
  /** `request` is the control message (for status messages); the reply is already sent. */
  onInterrupt(request: Message<MsgType>): void;
  onFatal(error: string): void;
}

/**
 * Binds the five sockets: shell, stdin and iopub here on the main thread (an execute crosses no
 * thread), control and heartbeat on the control thread (they must answer while a cell blocks).
 */
export async function startIo(data: IoWorkerData, events: IoEvents): Promise<KernelIo> {
  const info = await readConnectionFile(data.connectionFile);
  const signer = new Signer(info.key);
  // The control thread starts alongside; the kernel answers on shell without waiting for it.
  const control = startControlThread(data, events);
  const [shell, stdin, iopub] = await Promise.all([
    bindSocket("router", endpoint(info, "shell")), bindSocket("router", endpoint(info, "stdin")),
    bindSocket("publisher", endpoint(info, "iopub")),
  ]);
  const local: Record<Exclude<Channel, "control">, FrameSocket> = { shell, stdin, iopub };
  const pump = async (channel: "shell" | "stdin", sock: FrameSocket): Promise<void> => {
    for await (const frames of sock.messages()) {
      const d = decode(frames, signer);
      if (!d.ok) { log(channel, describeFailure(d.failure)); continue; }
      events.onMessage(channel, d.identities, d.msg);
    }
  };
  for (const [ch, s] of [["shell", shell], ["stdin", stdin]] as const) {
    pump(ch, s).catch((e: unknown) => events.onFatal(`${ch} socket failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`));
  }
  return {
    send: (channel, identities, msg) => {
      if (channel === "control") { control.post({ type: "send", identities: [...identities], msg }); return; }
      const ids = channel === "iopub" && identities.length === 0 ? [Buffer.from(`kernel.${msg.header.msg_type}`)] : identities;
      local[channel].send(encode(ids, msg, signer)).catch((e: unknown) => log(channel, `send failed: ${String(e)}`));
    },
    ackInterrupt: () => control.post({ type: "interrupt-ack" }),
    close: async () => {
      await Promise.all([shell.drain(), stdin.drain(), iopub.drain()]);
      for (const s of [shell, stdin, iopub]) s.close();
      await control.close();
    },
  };
}

interface ControlThread { post(m: ToIo): void; close(): Promise<void> }

function startControlThread(data: IoWorkerData, events: IoEvents): ControlThread {
  const worker = new Worker(new URL("./ioWorker.js", import.meta.url), { workerData: data, stdout: false, stderr: false });
  // Messages produced in one turn cross in one postMessage.
  let batch: ToIo[] = [];
  const flush = (): void => { const b = batch; batch = []; worker.postMessage(b); };
  const post = (m: ToIo): void => {
    if (batch.length === 0) queueMicrotask(flush);
    batch.push(m);
  };
  // A control thread that cannot bind its sockets is fatal, as a shell socket would be.
  worker.on("error", (e) => events.onFatal(e.stack ?? e.message));
  worker.on("message", (m: FromIo) => {
    switch (m.type) {
      case "ready": break;
      case "message": events.onMessage("control", m.identities, m.msg); break;
      case "interrupt": events.onInterrupt(m.request); break;
      case "fatal": events.onFatal(m.error); break;
      default: events.onFatal(`unknown message from the control thread (${describeUnreachable(m)})`);
    }
  });
  return {
    post,
    close: () => new Promise<void>((done) => {
      const t = setTimeout(() => { void worker.terminate().then(() => done()); }, 2000);
      worker.once("exit", () => { clearTimeout(t); done(); });
      post({ type: "close" });
    }),
  };
}
