import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import {
  PROTOCOL_VERSION, REPLY_TYPE, isKnownIncoming,
  type Channel, type Contents, type ErrorContent, type ExecuteReplyContent, type JsonObject, type Message, type MimeBundle, type MsgType, type ReplyTable, type RequestType,
} from "../protocol/messages.js";
import { makeMessage } from "../protocol/header.js";
import { codePointsToUnits, unitsToCodePoints } from "../protocol/codePoints.js";
import { unreachable } from "../unreachable.js";
import type { KernelIo } from "../transport/ioClient.js";
import { CompilerClient } from "../execute/compilerClient.js";
import { CellRunner, type RunOutcome } from "../execute/cellRunner.js";
import type { RunState } from "../execute/runState.js";
import { errorContent, KernelInterrupt } from "../execute/traceback.js";
import { formatDiagnostics, isTypecheckMode, type CellDiagnostic, type TypecheckMode } from "../execute/cellDiagnostic.js";
import { OutputCapture } from "../io/outputCapture.js";
import { HistoryStore } from "../history/historyStore.js";
import { CommManager } from "../comm/commManager.js";
import { makeDisplay, type DisplayPublisher } from "../display/displayApi.js";
import { isSilentResult, plainText, toMimeBundle } from "../display/mimeBundle.js";
import { parseCell } from "../magics/parseMagics.js";
import { MagicRegistry } from "../magics/magicRegistry.js";
import { MagicError } from "../magics/magicError.js";
import { installGlobals } from "./globals.js";
import { makeImporter } from "../execute/moduleLoader.js";
import { log } from "../log.js";
import { settleLiveDisplays, watchSubmissions } from "../display/liveRunDisplay.js";
import { isRunView, runBundle } from "../display/runBundle.js";
import { addRenderer, MIME_BUNDLE } from "../display/mimeBundle.js";
import { isRunHandle, isTerminalRunStatus, observeSubmissions, type RunHandle } from "pipebook/contract";
import { NotebookSteps } from "../notebook/notebookSteps.js";
import { registerPipelineMagics } from "../notebook/pipelineMagics.js";
import { registerPublishComm } from "../notebook/publishComm.js";
import type * as Pipebook from "pipebook";

export interface KernelOptions {
  readonly session: string;
  /** The notebook's folder: imports resolve from here, and the type view lives here. */
  readonly dir: string;
  readonly typecheck: TypecheckMode;
  readonly historyFile: string;
  /** Shared with the control thread so it can tell a stuck cell from a slow machine. */
  readonly runState?: RunState;
}

type Incoming<T extends MsgType> = { channel: Channel; identities: readonly Uint8Array[]; msg: Message<T> };

const IMPLEMENTATION_VERSION = "0.1.0";

/**
 * The kernel's message handling, apart from the transport (it talks to a `KernelIo`). Executes
 * run one at a time in arrival order; other requests are answered at once, also while a cell runs.
 */
export class Kernel {
  readonly #compiler: CompilerClient;
  readonly #runner: CellRunner;
  readonly #capture = new OutputCapture();
  readonly #history: HistoryStore;
  readonly comms: CommManager;
  readonly magics = new MagicRegistry();
  #typecheck: TypecheckMode;
  #executionCount = 0;
  #cellIndex = 0;
  #queue: Promise<void> = Promise.resolve();
  #queued = 0;
  #abortQueued = false;
  /** The execute request whose outputs are being produced (late output goes to the last one). */
  #current: Incoming<"execute_request"> | undefined;
  #pendingInput: ((value: string) => void) | undefined;
  #stopCompile: (() => void) | undefined;
  #closing = false;
  readonly #interruptListeners = new Set<() => void>();
  /** Every run submitted in this kernel, to cancel what still runs at shutdown. */
  readonly #runs = new Set<RunHandle>();
  readonly steps: NotebookSteps;

  constructor(private readonly io: KernelIo, readonly options: KernelOptions) {
    this.#typecheck = options.typecheck;
    this.#runner = new CellRunner(options.runState);
    this.#compiler = new CompilerClient(options.dir);
    this.#history = new HistoryStore(options.historyFile);
    this.#capture.setSink((name, text) => this.#publish("stream", { name, text }));
    this.comms = new CommManager({
      open: (comm_id, target_name, data) => this.#publish("comm_open", { comm_id, target_name, data }),
      msg: (comm_id, data) => this.#publish("comm_msg", { comm_id, data }),
      close: (comm_id, data) => this.#publish("comm_close", { comm_id, data }),
    });
    const { display, clearOutput } = makeDisplay(this.displayPublisher);
    const importer = makeImporter(options.dir);
    // The same copy of pipebook the notebook's own imports get.
    const loadPipebook = () => importer("pipebook") as Promise<typeof Pipebook>;
    this.steps = new NotebookSteps(loadPipebook);
    installGlobals({
      importer, display, clearOutput, dir: options.dir,
      input: (prompt, password) => this.#input(prompt, password), comms: this.comms,
      notebookPipeline: () => this.steps.pipeline(),
    });
    watchSubmissions(this.displayPublisher);
    observeSubmissions((run) => {
      this.#runs.add(run);
      void run.waitForCompletion().finally(() => this.#runs.delete(run)).catch(() => undefined);
    });
    addRenderer((v) => (isRunView(v) ? runBundle(v) : undefined));
    addRenderer((v) => (isRunHandle(v) ? { "text/plain": `PipelineRun ${v.id} (${v.status}) - shown live above` } : undefined));
    registerPublishComm(this.comms, loadPipebook, () => this.steps.workspace());
    registerPipelineMagics(this.magics, {
      steps: this.steps, loadPipebook,
      onInterrupt: (f) => { this.#interruptListeners.add(f); return () => this.#interruptListeners.delete(f); },
    });
    this.magics.line("typecheck", "refuse|report|off: what to do with type errors", (call) => {
      const mode = call.args[0];
      if (mode === undefined) return `typecheck: ${this.#typecheck}`;
      if (!isTypecheckMode(mode)) throw new MagicError({ reason: "typecheck-mode-invalid", mode });
      this.#typecheck = mode;
      return undefined;
    });
    this.magics.line("lsmagic", "list magics", () => ({ [MIME_BUNDLE]: () => ({ "text/plain": this.magics.help() }) }));
  }

  /** The publisher the display API and the run display use: outputs go to the current cell. */
  readonly displayPublisher: DisplayPublisher = {
    display: (data, metadata, displayId) => this.#publish("display_data", { data, metadata, transient: displayId ? { display_id: displayId } : {} }),
    update: (data, metadata, displayId) => this.#publish("update_display_data", { data, metadata, transient: { display_id: displayId } }),
    clear: (wait) => this.#publish("clear_output", { wait }),
  };

  /** Sends an iopub message with the current execute request as parent (stream output first, to keep order). */
  #publish<T extends MsgType>(type: T, content: Contents[T]): void {
    if (type !== "stream") this.#capture.flush();
    this.io.send("iopub", [], makeMessage(type, content, this.#current?.msg, this.options.session));
  }

  #status(state: "busy" | "idle", parent: Message): void {
    this.#capture.flush();
    this.io.send("iopub", [], makeMessage("status", { execution_state: state }, parent, this.options.session));
  }

  #reply<R extends RequestType>(req: Incoming<R>, content: Contents[ReplyTable[R]], metadata: JsonObject = {}): void {
    this.#capture.flush();
    this.io.send(req.channel, req.identities, makeMessage(REPLY_TYPE[req.msg.header.msg_type as R], content, req.msg, this.options.session, metadata));
  }

  /** Starts the compiler thread if no kernel_info request came to do it (some clients send none). */
  warmSoon(): void {
    setTimeout(() => this.#compiler.start(), 500).unref();
  }

  publishStarting(): void {
    this.io.send("iopub", [], makeMessage("status", { execution_state: "starting" }, undefined, this.options.session));
  }

  handle(channel: Channel, identities: readonly Uint8Array[], msg: Message): void {
    const type = msg.header.msg_type;
    if (!isKnownIncoming(type)) { log("kernel", `ignoring unsupported message type ${type} on ${channel}`); return; }
    const m = { channel, identities, msg } as Incoming<typeof type>;
    switch (type) {
      case "input_reply": this.#pendingInput?.((m as Incoming<"input_reply">).msg.content.value ?? ""); return;
      case "execute_request": this.#enqueueExecute(m as Incoming<"execute_request">); return;
      default: this.#withStatus(m, () => this.#handleNow(type, m));
    }
  }

  #withStatus(m: Incoming<MsgType>, f: () => Promise<void> | void): void {
    this.#status("busy", m.msg);
    const done = (): void => this.#status("idle", m.msg);
    Promise.resolve().then(f).then(done, (e: unknown) => {
      log("kernel", `handling ${m.msg.header.msg_type} failed: ${e instanceof Error ? e.stack : String(e)}`);
      done();
    });
  }

  async #handleNow(type: Exclude<MsgType, "execute_request" | "input_reply">, m: Incoming<MsgType>): Promise<void> {
    switch (type) {
      case "kernel_info_request": return this.#kernelInfo(m as Incoming<"kernel_info_request">);
      case "complete_request": return this.#complete(m as Incoming<"complete_request">);
      case "inspect_request": return this.#inspect(m as Incoming<"inspect_request">);
      case "is_complete_request": return this.#isComplete(m as Incoming<"is_complete_request">);
      case "history_request": return this.#historyReq(m as Incoming<"history_request">);
      case "comm_info_request": {
        const r = m as Incoming<"comm_info_request">;
        this.#reply(r, { status: "ok", comms: this.comms.info(r.msg.content.target_name) });
        return;
      }
      case "comm_open": {
        const c = (m as Incoming<"comm_open">).msg.content;
        if (!this.comms.opened(c.comm_id, c.target_name, c.data ?? {})) {
          this.#publishTo(m.msg, "comm_close", { comm_id: c.comm_id, data: {} });
        }
        return;
      }
      case "comm_msg": { const c = (m as Incoming<"comm_msg">).msg.content; this.comms.message(c.comm_id, c.data ?? {}); return; }
      case "comm_close": { const c = (m as Incoming<"comm_close">).msg.content; this.comms.closed(c.comm_id, c.data ?? {}); return; }
      case "shutdown_request": return this.#shutdown(m as Incoming<"shutdown_request">);
      case "interrupt_request":
        // Normally answered by the I/O thread; a front end may also send it on shell.
        this.interrupt();
        this.#reply(m as Incoming<"interrupt_request">, { status: "ok" });
        return;
      case "kernel_info_reply": case "execute_reply": case "inspect_reply": case "complete_reply": case "is_complete_reply":
      case "history_reply": case "comm_info_reply": case "shutdown_reply": case "interrupt_reply": case "input_request":
      case "status": case "stream": case "execute_input": case "execute_result": case "display_data": case "update_display_data":
      case "clear_output": case "error":
        log("kernel", `a front end sent ${type}, which only kernels send; ignored`);
        return;
      default: return unreachable(type);
    }
  }

  #publishTo<T extends MsgType>(parent: Message, type: T, content: Contents[T]): void {
    this.io.send("iopub", [], makeMessage(type, content, parent, this.options.session));
  }

  /** From the control thread (interrupt_request, already answered) or SIGINT. */
  interrupt(request?: Message): void {
    this.io.ackInterrupt();
    if (request) { this.#status("busy", request); this.#status("idle", request); }
    this.#abortQueued = this.#queued > 1;
    this.#pendingInput?.("");
    for (const f of this.#interruptListeners) f();
    if (!this.#runner.interrupt()) this.#stopCompile?.();
  }

  #kernelInfo(m: Incoming<"kernel_info_request">): void {
    this.#reply(m, {
      status: "ok", protocol_version: PROTOCOL_VERSION, implementation: "pipebook", implementation_version: IMPLEMENTATION_VERSION,
      language_info: {
        name: "typescript", version: typescriptVersion(), mimetype: "text/typescript", file_extension: ".ts",
        // JupyterLab 4 looks the language up by this name (TypeScript highlighting, not JavaScript).
        codemirror_mode: "typescript", pygments_lexer: "typescript",
      },
      banner: `pipebook TypeScript kernel ${IMPLEMENTATION_VERSION} (Node ${process.version}, TypeScript ${typescriptVersion()})`,
      help_links: [
        { text: "pipebook kernel", url: "https://github.com/pipebook/pipebook/blob/main/docs/kernel.md" },
        { text: "TypeScript handbook", url: "https://www.typescriptlang.org/docs/handbook/intro.html" },
        { text: "Node.js API", url: "https://nodejs.org/docs/latest-v20.x/api/" },
      ],
      debugger: false,
    });
    setImmediate(() => this.#compiler.start());
  }

  async #complete(m: Incoming<"complete_request">): Promise<void> {
    const { code, cursor_pos } = m.msg.content;
    const pos = codePointsToUnits(code, cursor_pos);
    const r = await this.#compiler.request("complete", { code, pos });
    this.#reply(m, {
      status: "ok", matches: r.matches, cursor_start: unitsToCodePoints(code, r.start), cursor_end: unitsToCodePoints(code, r.end),
      metadata: { _jupyter_types_experimental: r.matches.map((text, i) => ({ start: unitsToCodePoints(code, r.start), end: unitsToCodePoints(code, r.end), text, type: r.types[i] ?? "" })) },
    });
  }

  async #inspectBundle(code: string, pos: number): Promise<MimeBundle | undefined> {
    const r = await this.#compiler.request("inspect", { code, pos });
    if (!r) return undefined;
    const text = r.documentation ? `${r.signature}\n\n${r.documentation}` : r.signature;
    return { "text/plain": text, "text/markdown": `\`\`\`typescript\n${r.signature}\n\`\`\`${r.documentation ? `\n\n${r.documentation}` : ""}` };
  }

  async #inspect(m: Incoming<"inspect_request">): Promise<void> {
    const { code, cursor_pos } = m.msg.content;
    const data = await this.#inspectBundle(code, codePointsToUnits(code, cursor_pos));
    this.#reply(m, { status: "ok", found: data !== undefined, data: data ?? {}, metadata: {} });
  }

  async #isComplete(m: Incoming<"is_complete_request">): Promise<void> {
    const r = await this.#compiler.request("isComplete", { code: m.msg.content.code });
    this.#reply(m, r.status === "incomplete" ? { status: "incomplete", indent: r.indent } : { status: r.status });
  }

  #historyReq(m: Incoming<"history_request">): void {
    const c = m.msg.content;
    const entries = this.#history.query(
      c.hist_access_type === "tail" ? { kind: "tail", n: c.n ?? 10 }
        : c.hist_access_type === "range" ? { kind: "range", session: c.session ?? 0, start: c.start ?? 1, stop: c.stop }
          : { kind: "search", pattern: c.pattern ?? "*", n: c.n, unique: c.unique ?? false },
    );
    const history = c.output
      ? entries.map((e): [number, number, [string, string | null]] => [e.session, e.line, [e.source, e.output]])
      : entries.map((e): [number, number, string] => [e.session, e.line, e.source]);
    this.#reply(m, { status: "ok", history } as Contents["history_reply"]);
  }

  async #shutdown(m: Incoming<"shutdown_request">): Promise<void> {
    this.#closing = true;
    this.#reply(m, { status: "ok", restart: m.msg.content.restart });
    this.#status("idle", m.msg);
    await this.close();
    process.exit(0);
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#cancelRuns();
    await this.#history.flushed();
    await this.#compiler.close().catch(() => undefined);
    await this.io.close();
  }

  /**
   * Runs this kernel submitted that are still going are canceled when it shuts down: their steps
   * stop and the runs end `canceled`, rather than running on unattended or being found failed by
   * the next process that opens the workspace. Bounded, so a stuck run cannot hold the shutdown.
   */
  async #cancelRuns(): Promise<void> {
    const going = [...this.#runs].filter((r) => !isTerminalRunStatus(r.status));
    for (const run of going) run.cancel();
    await Promise.race([Promise.all(going.map((r) => r.waitForCompletion().catch(() => undefined))), new Promise((r) => setTimeout(r, 10_000).unref())]);
  }

  // ---- execution ----

  #enqueueExecute(m: Incoming<"execute_request">): void {
    this.#queued++;
    this.#queue = this.#queue.then(async () => {
      this.#status("busy", m.msg);
      try {
        if (this.#abortQueued) {
          this.#reply(m, { status: "aborted", execution_count: this.#executionCount, user_expressions: {}, payload: [] });
        } else {
          await this.#execute(m);
        }
      } catch (e) {
        log("kernel", `execute failed inside the kernel: ${e instanceof Error ? e.stack : String(e)}`);
        this.#reply(m, { status: "error", execution_count: this.#executionCount, user_expressions: {}, payload: [], ...errorContent(e, this.#runner.sources) });
      } finally {
        this.#queued--;
        if (this.#queued === 0) this.#abortQueued = false;
        this.#status("idle", m.msg);
      }
    });
  }

  async #execute(m: Incoming<"execute_request">): Promise<void> {
    const { code, silent = false, store_history = true, user_expressions = {}, stop_on_error = true } = m.msg.content;
    const storeHistory = store_history && !silent;
    if (storeHistory) this.#executionCount++;
    const count = this.#executionCount;
    this.#current = m;
    if (!silent) this.#publish("execute_input", { code, execution_count: count });
    const result = await this.#evaluate(code, count, silent);
    await settleLiveDisplays();
    const payload: JsonObject[] = result.page ? [{ source: "page", data: result.page, start: 0 }] : [];
    let reply: ExecuteReplyContent;
    if (result.error) {
      this.#publish("error", result.error);
      reply = { status: "error", execution_count: count, user_expressions: {}, payload, ...result.error };
      if (stop_on_error && this.#queued > 1) this.#abortQueued = true;
    } else {
      const ux = await this.#userExpressions(user_expressions);
      reply = { status: "ok", execution_count: count, user_expressions: ux, payload };
    }
    if (storeHistory) this.#history.add(count, code, result.output ?? null);
    this.#reply(m, reply);
  }

  /** Runs a cell: magics, then the compile/check, then the script. Never throws for user errors. */
  async #evaluate(source: string, count: number, silent: boolean): Promise<{ error?: ErrorContent; output?: string; page?: MimeBundle }> {
    const cell = parseCell(source);
    try {
      switch (cell.kind) {
        case "help": {
          const page = await this.#inspectBundle(cell.expression, cell.expression.length);
          return { page: page ?? { "text/plain": `No information about ${cell.expression}` } };
        }
        case "cell-magic": return this.#showResult(await this.#guard(Promise.resolve(this.magics.runCell(cell.magic, cell.body))), true, silent, count);
        case "code": {
          for (const lm of cell.lineMagics) {
            const v = await this.#guard(Promise.resolve(this.magics.runLine(lm)));
            if (cell.code.trim() === "") return this.#showResult(v, true, silent, count);
          }
          if (cell.code.trim() === "") return {};
          return await this.#runCode(cell.code, count, silent);
        }
        default: return unreachable(cell);
      }
    } catch (e) {
      if (e instanceof KernelInterrupt) return { error: errorContent(e, this.#runner.sources) };
      if (e instanceof MagicError) return { error: { ename: "MagicError", evalue: e.message, traceback: [`\x1b[31mMagicError\x1b[0m: ${e.message}`] } };
      return { error: errorContent(e, this.#runner.sources) };
    }
  }

  /** Awaits something a magic started, ending early (with KernelInterrupt) if the user interrupts. */
  #guard<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#stopCompile = () => reject(new KernelInterrupt());
      p.then(resolve, reject).finally(() => { this.#stopCompile = undefined; });
    });
  }

  #showResult(value: unknown, hasResult: boolean, silent: boolean, count: number): { output?: string } {
    if (!hasResult || value === undefined || silent || isSilentResult(value)) return {};
    const data = toMimeBundle(value);
    this.#publish("execute_result", { execution_count: count, data, metadata: {} });
    const text = data["text/plain"];
    return typeof text === "string" ? { output: text } : {};
  }

  async #runCode(code: string, count: number, silent: boolean): Promise<{ error?: ErrorContent; output?: string }> {
    const index = ++this.#cellIndex;
    const label = `In[${count}]`;
    const compiled = await this.#guard(this.#compiler.compile(index, code, this.#typecheck));
    if (compiled.status === "refused") return { error: typeErrors(label, compiled.diagnostics) };
    if (compiled.diagnostics.length > 0) {
      this.#publish("stream", { name: "stderr", text: `${formatDiagnostics(label, compiled.diagnostics).join("\n")}\n` });
    }
    const outcome: RunOutcome = await this.#runner.run(label, compiled.code, compiled.sourceMap, compiled.hasResult);
    switch (outcome.status) {
      case "ok": return this.#showResult(outcome.value, outcome.hasResult, silent, count);
      case "threw": return { error: errorContent(outcome.error, this.#runner.sources) };
      case "interrupted": return { error: errorContent(new KernelInterrupt(), this.#runner.sources) };
      default: return unreachable(outcome);
    }
  }

  async #userExpressions(exprs: Record<string, string>): Promise<JsonObject> {
    const out: JsonObject = {};
    for (const [name, expr] of Object.entries(exprs)) {
      const compiled = await this.#compiler.compile(++this.#cellIndex, `(${expr})`, "off");
      if (compiled.status === "refused") { out[name] = { status: "error", ...typeErrors(name, compiled.diagnostics) }; continue; }
      const r = await this.#runner.run(`user_expressions[${name}]`, compiled.code, compiled.sourceMap, true);
      out[name] = r.status === "ok" ? { status: "ok", data: toMimeBundle(r.value), metadata: {} }
        : { status: "error", ...errorContent(r.status === "threw" ? r.error : new KernelInterrupt(), this.#runner.sources) };
    }
    return out;
  }

  async #input(prompt: string, password: boolean): Promise<string> {
    const cur = this.#current;
    if (!cur || cur.msg.content.allow_stdin === false) {
      throw Object.assign(new Error("this front end does not support input requests"), { name: "StdinNotImplementedError" });
    }
    const value = new Promise<string>((resolve) => { this.#pendingInput = resolve; });
    this.#capture.flush();
    this.io.send("stdin", cur.identities, makeMessage("input_request", { prompt, password }, cur.msg, this.options.session));
    try { return await value; } finally { this.#pendingInput = undefined; }
  }

  get closing(): boolean { return this.#closing; }
  plainText(v: unknown): string { return plainText(v); }
}


function typeErrors(label: string, diags: readonly CellDiagnostic[]): ErrorContent {
  const n = diags.length;
  const first = diags[0];
  const evalue = first ? `${label}:${first.line}:${first.column} TS${first.code}: ${first.message}${n > 1 ? ` (and ${n - 1} more)` : ""}` : "type errors";
  return { ename: "TypeScriptError", evalue, traceback: [`\x1b[31mTypeScriptError\x1b[0m: ${n} type error${n === 1 ? "" : "s"} (the cell did not run; %typecheck report runs cells anyway)`, ...formatDiagnostics(label, diags)] };
}

let tsVersion: string | undefined;
function typescriptVersion(): string {
  if (tsVersion) return tsVersion;
  try {
    const req = createRequire(import.meta.url);
    tsVersion = (JSON.parse(readFileSync(req.resolve("typescript/package.json"), "utf8")) as { version: string }).version;
  } catch { tsVersion = "5"; }
  return tsVersion;
}
