import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage } from "node:http";

/**
 * A TCP proxy in front of a real server that drops one connection once it has carried `bytes`
 * in one direction: `up` (client → server: the server sees the request end early) or `down`
 * (server → client: the client's reply ends early). Later connections pass untouched. Stands in
 * for a network that fails; the server and client on either side are the real ones.
 */
export interface DroppingProxy {
  readonly url: string;
  /** Connections cut so far. */
  readonly cuts: number;
  close(): Promise<void>;
}

export async function droppingProxy(target: string, cut: { direction: "up" | "down"; bytes: number }): Promise<DroppingProxy> {
  const { hostname, port } = new URL(target);
  let cuts = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    sockets.add(client).add(upstream);
    client.on("close", () => sockets.delete(client));
    upstream.on("close", () => sockets.delete(upstream));
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    const armed = cuts === 0;
    let carried = 0;
    const relay = (from: Socket, to: Socket, cutting: boolean): void => {
      from.on("data", (chunk: Buffer) => {
        if (cutting && armed && cuts === 0 && carried + chunk.length >= cut.bytes) {
          cuts += 1;
          // The receiving side gets every byte up to the cut, then an orderly end; the sender a reset.
          to.end(chunk.subarray(0, cut.bytes - carried));
          from.destroy();
          return;
        }
        carried += cutting ? chunk.length : 0;
        if (!to.write(chunk)) {
          from.pause();
          to.once("drain", () => from.resume());
        }
      });
      from.on("end", () => to.end());
    };
    relay(client, upstream, cut.direction === "up");
    relay(upstream, client, cut.direction === "down");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get cuts() {
      return cuts;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * An HTTP proxy in front of a real server that, for the first request `drop` matches, lets the
 * server answer in full and then cuts the connection to the client without a byte of the reply:
 * the request took effect, its caller never hears so. Everything else passes through (streams too).
 */
export interface ReplyDroppingProxy {
  readonly url: string;
  /** Replies dropped so far. */
  readonly dropped: number;
  close(): Promise<void>;
}

export async function replyDroppingProxy(target: string, drop: (method: string, url: string) => boolean): Promise<ReplyDroppingProxy> {
  let dropped = 0;
  const proxy = await forwardingProxy(target, (req, reply, send) => {
    if (dropped === 0 && drop(req.method ?? "", req.url ?? "")) {
      dropped += 1;
      reply.resume();
      reply.on("end", () => req.socket.destroy());
    } else send();
  });
  return {
    ...proxy,
    get dropped() {
      return dropped;
    },
  };
}

/**
 * An HTTP proxy in front of a real server that holds the reply to the first request `hold`
 * matches (the server has answered; the client waits) until `release()`; everything else passes.
 */
export interface ReplyHoldingProxy {
  readonly url: string;
  /** Resolves once a matching request's reply is held. */
  readonly holding: Promise<void>;
  release(): void;
  close(): Promise<void>;
}

export async function replyHoldingProxy(target: string, hold: (method: string, url: string) => boolean): Promise<ReplyHoldingProxy> {
  let held = false;
  let nowHolding: () => void = () => undefined;
  const holding = new Promise<void>((resolve) => (nowHolding = resolve));
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  const proxy = await forwardingProxy(target, (req, reply, send) => {
    if (!held && hold(req.method ?? "", req.url ?? "")) {
      held = true;
      reply.pause();
      nowHolding();
      void released.then(send);
    } else send();
  });
  return { ...proxy, holding, release: () => release() };
}

/**
 * What the two proxies above share: every request goes on to `target`, and its reply to
 * `answer`, which sends it back to the client (`send`), holds it or drops it.
 */
async function forwardingProxy(
  target: string,
  answer: (req: IncomingMessage, reply: IncomingMessage, send: () => void) => void,
): Promise<{ readonly url: string; close(): Promise<void> }> {
  const server = createHttpServer((req, res) => {
    const up = httpRequest(`${target}${req.url ?? "/"}`, { method: req.method, headers: req.headers }, (reply) =>
      answer(req, reply, () => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      }),
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
