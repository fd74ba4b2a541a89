import { Worker } from "node:worker_threads";
import type { Channel, Message, MsgType } from "../protocol/messages.js";
import type { FromIo, IoWorkerData, ToIo } from "./bridgeMessages.js";

/** What the kernel needs from its transport; tests can supply their own. */
export interface KernelIo {
  send(channel: Channel, identities: readonly Uint8Array[], msg: Message<MsgType>): void;
  ackInterrupt(): void;
  close(): Promise<void>;
}

export interface IoEvents {
  onMessage(channel: Channel, identities: Uint8Array[], msg: Message<MsgType>): void;
  onInterrupt(): void;
  onFatal(error: string): void;
}

/** Starts the I/O thread and resolves once every socket is bound. */
export function startIoWorker(data: IoWorkerData, events: IoEvents): Promise<KernelIo> {
  const worker = new Worker(new URL("./ioWorker.js", import.meta.url), { workerData: data, stdout: false, stderr: false });
  // Messages produced in one turn (busy, execute_input, result, reply, idle) cross to the I/O
  // thread in one postMessage: fewer thread wake-ups per execute.
  let batch: ToIo[] = [];
  const flush = (): void => { const b = batch; batch = []; worker.postMessage(b); };
  const post = (m: ToIo): void => {
    if (batch.length === 0) queueMicrotask(flush);
    batch.push(m);
  };
  return new Promise((resolve, reject) => {
    let ready = false;
    worker.on("error", (e) => { if (!ready) reject(e); else events.onFatal(e.stack ?? e.message); });
    worker.on("message", (m: FromIo) => {
      switch (m.type) {
        case "ready":
          ready = true;
          resolve({
            send: (channel, identities, msg) => post({ type: "send", channel, identities: [...identities], msg }),
            ackInterrupt: () => post({ type: "interrupt-ack" }),
            close: () => new Promise<void>((done) => {
              const t = setTimeout(() => { void worker.terminate().then(() => done()); }, 2000);
              worker.once("exit", () => { clearTimeout(t); done(); });
              post({ type: "close" });
            }),
          });
          break;
        case "message": events.onMessage(m.channel, m.identities, m.msg); break;
        case "interrupt": events.onInterrupt(); break;
        case "fatal": if (!ready) reject(new Error(m.error)); else events.onFatal(m.error); break;
        default: { const never: never = m; events.onFatal(`unknown message from I/O thread: ${JSON.stringify(never)}`); }
      }
    });
  });
}
