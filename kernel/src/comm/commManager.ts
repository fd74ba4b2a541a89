import { randomUUID } from "node:crypto";
import type { JsonObject } from "../protocol/messages.js";

/** The kernel side of a Jupyter comm, as cells use it. */
export interface Comm {
  readonly id: string;
  readonly targetName: string;
  send(data: JsonObject): void;
  close(data?: JsonObject): void;
  onMessage(handler: (data: JsonObject) => void): void;
  onClose(handler: (data: JsonObject) => void): void;
}

export type CommTargetHandler = (comm: Comm, data: JsonObject) => void;

/** How the comm manager sends comm messages (the kernel binds it to iopub with the right parent). */
export interface CommTransport {
  open(commId: string, targetName: string, data: JsonObject): void;
  msg(commId: string, data: JsonObject): void;
  close(commId: string, data: JsonObject): void;
}

class KernelComm implements Comm {
  readonly #onMsg: ((d: JsonObject) => void)[] = [];
  readonly #onClose: ((d: JsonObject) => void)[] = [];
  #closed = false;
  constructor(readonly id: string, readonly targetName: string, private readonly t: CommTransport, private readonly forget: (id: string) => void) {}
  send(data: JsonObject): void { if (!this.#closed) this.t.msg(this.id, data); }
  close(data: JsonObject = {}): void {
    if (this.#closed) return;
    this.#closed = true;
    this.t.close(this.id, data);
    this.forget(this.id);
  }
  onMessage(h: (d: JsonObject) => void): void { this.#onMsg.push(h); }
  onClose(h: (d: JsonObject) => void): void { this.#onClose.push(h); }
  deliver(data: JsonObject): void { for (const h of this.#onMsg) h(data); }
  closedByFrontend(data: JsonObject): void {
    this.#closed = true;
    this.forget(this.id);
    for (const h of this.#onClose) h(data);
  }
}

export class CommManager {
  readonly #targets = new Map<string, CommTargetHandler>();
  readonly #comms = new Map<string, KernelComm>();
  constructor(private readonly transport: CommTransport) {}

  registerTarget(name: string, handler: CommTargetHandler): void { this.#targets.set(name, handler); }

  /** Opens a comm from the kernel side. */
  open(targetName: string, data: JsonObject = {}): Comm {
    const c = this.#make(randomUUID(), targetName);
    this.transport.open(c.id, targetName, data);
    return c;
  }

  /** A front end opened a comm. Returns false when no target handles it (the kernel then closes it). */
  opened(commId: string, targetName: string, data: JsonObject): boolean {
    const handler = this.#targets.get(targetName);
    if (!handler) return false;
    handler(this.#make(commId, targetName), data);
    return true;
  }

  message(commId: string, data: JsonObject): void { this.#comms.get(commId)?.deliver(data); }
  closed(commId: string, data: JsonObject): void { this.#comms.get(commId)?.closedByFrontend(data); }

  info(targetName: string | undefined): Record<string, { target_name: string }> {
    const out: Record<string, { target_name: string }> = {};
    for (const c of this.#comms.values()) if (!targetName || c.targetName === targetName) out[c.id] = { target_name: c.targetName };
    return out;
  }

  #make(id: string, targetName: string): KernelComm {
    const c = new KernelComm(id, targetName, this.transport, (x) => this.#comms.delete(x));
    this.#comms.set(id, c);
    return c;
  }
}
