/**
 * The control thread: owns the heartbeat and control sockets and handles `interrupt_request`
 * itself. Off the main thread, heartbeats and interrupts keep working while a cell runs a
 * synchronous loop there. (Shell, stdin and iopub live on the main thread: see mainSockets.ts.)
 */
import { parentPort, workerData } from "node:worker_threads";
import { Session } from "node:inspector";
import { log as writeLog } from "../log.js";
import { endpoint, readConnectionFile } from "../protocol/connection.js";
import { decode, describeFailure, encode, Signer } from "../protocol/wire.js";
import { makeMessage } from "../protocol/header.js";
import { bindSocket } from "./zmqAdapter.js";
import { RunState } from "../execute/runState.js";
import type { FromIo, IoWorkerData, ToIo } from "./bridgeMessages.js";
import { describeUnreachable } from "../unreachable.js";

/** How often the control thread looks whether the main thread acknowledged an interrupt or is stuck. */
const CHECK_EVERY_MS = 150;

const port = parentPort;
if (!port) throw new Error("ioWorker must run as a worker thread");
const data = workerData as IoWorkerData;
const runState = new RunState(data.runState);

function post(m: FromIo): void { port!.postMessage(m); }
function log(text: string): void { writeLog("control", text); }

async function main(): Promise<void> {
  const info = await readConnectionFile(data.connectionFile);
  const signer = new Signer(info.key);
  const [control, hb] = await Promise.all([bindSocket("router", endpoint(info, "control")), bindSocket("reply", endpoint(info, "hb"))]);
  let interruptTimer: NodeJS.Timeout | undefined;

  port!.on("message", (batch: ToIo[]) => {
    for (const m of batch) {
      switch (m.type) {
        case "send":
          control.send(encode(m.identities, m.msg, signer)).catch((e: unknown) => log(`send failed: ${String(e)}`));
          break;
        case "interrupt-ack": clearTimeout(interruptTimer); interruptTimer = undefined; break;
        case "close":
          // Let a queued shutdown_reply leave before the sockets go.
          void control.drain().then(() => { control.close(); hb.close(); process.exit(0); });
          break;
        default: log(`unknown bridge message (${describeUnreachable(m)})`);
      }
    }
  });

  const pumpControl = async (): Promise<void> => {
    for await (const frames of control.messages()) {
      const d = decode(frames, signer);
      if (!d.ok) { log(describeFailure(d.failure)); continue; }
      if (d.msg.header.msg_type === "interrupt_request") {
        post({ type: "interrupt", request: d.msg });
        clearTimeout(interruptTimer);
        // Unless the main thread acknowledges, check whether it is stuck: a cell runs and its
        // tick counter stood still since the last look. Then, and only then, stop it by force.
        let seen = runState.tick();
        const check = (): void => {
          if (!runState.running()) { interruptTimer = undefined; return; }
          const now = runState.tick();
          if (now === seen) { interruptTimer = undefined; terminateMainThreadExecution(); return; }
          seen = now;
          interruptTimer = setTimeout(check, CHECK_EVERY_MS);
        };
        interruptTimer = setTimeout(check, CHECK_EVERY_MS);
        control.send(encode(d.identities, makeMessage("interrupt_reply", { status: "ok" }, d.msg, data.session), signer))
          .catch((e: unknown) => log(`send failed: ${String(e)}`));
        continue;
      }
      post({ type: "message", identities: d.identities, msg: d.msg });
    }
  };
  const heartbeat = async (): Promise<void> => {
    for await (const frames of hb.messages()) await hb.send(frames);
  };
  post({ type: "ready" });
  await Promise.all([pumpControl(), heartbeat()]);
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
