/**
 * The I/O thread: owns every ZeroMQ socket, verifies and signs messages, answers heartbeats, and
 * handles `interrupt_request` itself. Keeping this off the main thread means heartbeats and
 * interrupts still work while a cell runs a synchronous loop on the main thread.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Session } from "node:inspector";
import { log as writeLog } from "../log.js";
import { endpoint, readConnectionFile, type SocketName } from "../protocol/connection.js";
import { decode, describeFailure, encode, Signer } from "../protocol/wire.js";
import { makeMessage } from "../protocol/header.js";
import type { Channel, Message, MsgType } from "../protocol/messages.js";
import { bindSocket, type FrameSocket } from "./zmqAdapter.js";
import type { FromIo, IoWorkerData, ToIo } from "./bridgeMessages.js";

/** How long the main thread may take to acknowledge an interrupt before we assume it is stuck in a loop. */
const STUCK_AFTER_MS = 150;

const port = parentPort;
if (!port) throw new Error("ioWorker must run as a worker thread");
const data = workerData as IoWorkerData;

function post(m: FromIo): void { port!.postMessage(m); }
function log(text: string): void { writeLog("io", text); }

async function main(): Promise<void> {
  const info = await readConnectionFile(data.connectionFile);
  const signer = new Signer(info.key);
  const bind = (kind: "router" | "publisher" | "reply", name: SocketName) => bindSocket(kind, endpoint(info, name));
  const [shell, control, stdin, iopub, hb] = await Promise.all([
    bind("router", "shell"), bind("router", "control"), bind("router", "stdin"), bind("publisher", "iopub"), bind("reply", "hb"),
  ]);
  const sockets: Record<Channel, FrameSocket> = { shell, control, stdin, iopub };
  let interruptTimer: NodeJS.Timeout | undefined;

  const send = (channel: Channel, identities: readonly Uint8Array[], msg: Message<MsgType>): void => {
    const ids = channel === "iopub" && identities.length === 0 ? [Buffer.from(`kernel.${msg.header.msg_type}`)] : identities;
    sockets[channel].send(encode(ids, msg, signer)).catch((e: unknown) => log(`send on ${channel} failed: ${String(e)}`));
  };

  const onBridge = (m: ToIo): void => {
    switch (m.type) {
      case "send": send(m.channel, m.identities, m.msg); break;
      case "interrupt-ack": clearTimeout(interruptTimer); interruptTimer = undefined; break;
      case "close":
        // Let queued replies (shutdown_reply, the last idle) leave before the sockets go.
        void Promise.all([shell, control, stdin, iopub].map((s) => s.drain())).then(() => {
          for (const s of [shell, control, stdin, iopub, hb]) s.close();
          process.exit(0);
        });
        break;
      default: { const never: never = m; log(`unknown bridge message ${JSON.stringify(never)}`); }
    }
  };
  port!.on("message", (batch: ToIo[]) => { for (const m of batch) onBridge(m); });

  const interrupt = (request: Message<MsgType>, identities: readonly Uint8Array[]): void => {
    send("iopub", [], makeMessage("status", { execution_state: "busy" }, request, data.session));
    post({ type: "interrupt" });
    clearTimeout(interruptTimer);
    interruptTimer = setTimeout(() => terminateMainThreadExecution(), STUCK_AFTER_MS);
    send("control", identities, makeMessage("interrupt_reply", { status: "ok" }, request, data.session));
    send("iopub", [], makeMessage("status", { execution_state: "idle" }, request, data.session));
  };

  const pump = async (channel: Channel, sock: FrameSocket): Promise<void> => {
    for await (const frames of sock.messages()) {
      const d = decode(frames, signer);
      if (!d.ok) { log(`${channel}: ${describeFailure(d.failure)}`); continue; }
      if (channel === "control" && d.msg.header.msg_type === "interrupt_request") { interrupt(d.msg, d.identities); continue; }
      post({ type: "message", channel, identities: d.identities, msg: d.msg });
    }
  };
  const heartbeat = async (): Promise<void> => {
    for await (const frames of hb.messages()) await hb.send(frames);
  };
  post({ type: "ready" });
  await Promise.all([pump("shell", shell), pump("control", control), pump("stdin", stdin), heartbeat()]);
}

/**
 * Stops whatever JavaScript the main thread is running, through the inspector protocol. V8 lifts
 * the termination once the outermost script returns, so the kernel and its variables survive.
 */
function terminateMainThreadExecution(): void {
  const session = new Session();
  session.connectToMainThread();
  session.post("Runtime.terminateExecution", (err) => {
    if (err) log(`interrupt failed: ${err.message}`);
    session.disconnect();
  });
}

main().catch((e: unknown) => {
  post({ type: "fatal", error: e instanceof Error ? e.stack ?? e.message : String(e) });
});
