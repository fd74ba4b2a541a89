/**
 * The one file that touches the `zeromq` native module. Everything else sees `FrameSocket`,
 * so the protocol logic can be tested without sockets and the binding can be swapped.
 */
import * as zmq from "zeromq";

export interface FrameSocket {
  /** Queued: zeromq 6 rejects a second send while one is in flight (EBUSY), so sends run one at a time. */
  send(frames: readonly Buffer[]): Promise<void>;
  /** Yields multipart messages until the socket closes. */
  messages(): AsyncIterable<Buffer[]>;
  /** Resolves once every queued send has left. */
  drain(): Promise<void>;
  close(): void;
}

export type SocketKind = "router" | "publisher" | "reply";

class ZmqFrameSocket implements FrameSocket {
  #tail: Promise<void> = Promise.resolve();
  constructor(private readonly sock: zmq.Router | zmq.Publisher | zmq.Reply) {}

  send(frames: readonly Buffer[]): Promise<void> {
    const next = this.#tail.then(() => this.sock.send(frames as Buffer[]));
    // The queue continues after a failed send; the caller still sees the failure.
    this.#tail = next.catch(() => undefined);
    return next;
  }

  drain(): Promise<void> { return this.#tail; }

  async *messages(): AsyncIterable<Buffer[]> {
    if (this.sock instanceof zmq.Publisher) return;
    try {
      for await (const frames of this.sock) yield frames;
    } catch (e) {
      // Closing the socket ends the iteration with EAGAIN/ETERM-like errors; that is the normal end.
      if (!this.sock.closed) throw e;
    }
  }

  close(): void {
    if (!this.sock.closed) this.sock.close();
  }
}

export async function bindSocket(kind: SocketKind, endpoint: string): Promise<FrameSocket> {
  const sock = kind === "router" ? new zmq.Router({ linger: 0 })
    : kind === "publisher" ? new zmq.Publisher({ linger: 0 })
    : new zmq.Reply({ linger: 0 });
  await sock.bind(endpoint);
  return new ZmqFrameSocket(sock);
}
