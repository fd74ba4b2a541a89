// The floor of the kernel benchmark: a Node kernel that sends the same messages for an execute
// (busy, execute_input, execute_result, reply, idle) and does no work. What the Python client
// measures for it is client and transport time, not kernel time.
import * as zmq from "zeromq";
import { readFileSync } from "node:fs";
import { decode, encode, Signer } from "../dist/protocol/wire.js";
import { makeMessage } from "../dist/protocol/header.js";
const idx = process.argv.indexOf("-f");
const c = JSON.parse(readFileSync(process.argv[idx + 1], "utf8"));
const signer = new Signer(c.key);
const ep = (p) => `tcp://${c.ip}:${p}`;
const shell = new zmq.Router(); await shell.bind(ep(c.shell_port));
const control = new zmq.Router(); await control.bind(ep(c.control_port));
const stdin = new zmq.Router(); await stdin.bind(ep(c.stdin_port));
const iopub = new zmq.Publisher(); await iopub.bind(ep(c.iopub_port));
const hb = new zmq.Reply(); await hb.bind(ep(c.hb_port));
(async () => { for await (const m of hb) await hb.send(m); })();
let tail = Promise.resolve();
const pub = (t, content, parent) => { const f = encode([Buffer.from(t)], makeMessage(t, content, parent, "s"), signer); tail = tail.then(() => iopub.send(f)); };
let tailS = Promise.resolve();
let n = 0;
const serve = async (sock) => { for await (const frames of sock) {
  const d = decode(frames, signer); if (!d.ok) continue;
  const m = d.msg; const t = m.header.msg_type;
  pub("status", { execution_state: "busy" }, m);
  if (t === "kernel_info_request") {
    const r = makeMessage("kernel_info_reply", { status: "ok", protocol_version: "5.3", implementation: "fake", implementation_version: "0", language_info: { name: "x", version: "1", mimetype: "text/x", file_extension: ".x" }, banner: "", help_links: [] }, m, "s");
    const f = encode(d.identities, r, signer); tailS = tailS.then(() => sock.send(f));
  } else if (t === "execute_request") {
    n++;
    pub("execute_input", { code: m.content.code, execution_count: n }, m);
    pub("execute_result", { execution_count: n, data: { "text/plain": "2" }, metadata: {} }, m);
    const r = makeMessage("execute_reply", { status: "ok", execution_count: n, user_expressions: {}, payload: [] }, m, "s");
    const f = encode(d.identities, r, signer); tailS = tailS.then(() => sock.send(f));
  } else if (t === "shutdown_request") {
    const r = makeMessage("shutdown_reply", { status: "ok", restart: false }, m, "s");
    const f = encode(d.identities, r, signer); tailS = tailS.then(() => sock.send(f)); await tailS; process.exit(0);
  }
  pub("status", { execution_state: "idle" }, m);
} };
serve(shell); serve(control);
// Leave with the process that started it (a timed-out bench must not leave it behind).
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) process.exit(0); }, 1000).unref();
