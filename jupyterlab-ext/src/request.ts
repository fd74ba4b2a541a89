import { PageConfig, URLExt } from "@jupyterlab/coreutils";
import { ServerConnection } from "@jupyterlab/services";
import { readErrorReply, type FailureCode } from "pipebook/contract";
import { describeReplyMismatch, parseReply, type Reply, type ReplyMismatch, type ReplySchemaName } from "pipebook/contract/rest";
import { unreachable } from "./unreachable.js";

/**
 * Where the pipebook REST server (`pipebook serve`) is reached from the browser.
 *
 * - `proxy`: the workbench launcher runs `pipebook serve` beside jupyter-server and forwards
 *   `<base>/pipebook/api/*` to it, adding the server's bearer token on the server side; the
 *   page authenticates to Jupyter as for any other Jupyter API (cookie/token + XSRF), and the
 *   engine token never reaches the browser. The launcher writes the path into the page config
 *   as `pipebookApiUrl`.
 * - `direct`: in someone else's JupyterLab (installed with `pipebook lab install`) there is no
 *   proxy; the user gives the server URL and token in the settings, and the server must allow
 *   the page's origin.
 */
export type PipebookServer =
  | { readonly kind: "proxy"; readonly url: string }
  | { readonly kind: "direct"; readonly url: string; readonly token: string };

export type RequestFailure =
  | { readonly reason: "not-configured" }
  | { readonly reason: "network"; readonly message: string }
  /** A non-2xx reply: its status and sentence, and an expected failure's `code` and reason (`failureReason`) where the server gave them. */
  | { readonly reason: "http"; readonly status: number; readonly message: string; readonly code?: FailureCode; readonly failureReason?: string }
  | { readonly reason: "bad-json"; readonly message: string }
  /** A 2xx reply that is not the contract's shape (a server of another version, a proxy's page): which reply, the first field that differs, and how. */
  | ({ readonly reason: "reply-invalid" } & ReplyMismatch);

export class PipebookRequestError extends Error {
  constructor(readonly failure: RequestFailure, options?: { cause?: unknown }) {
    super(describeFailure(failure), options);
    this.name = "PipebookRequestError";
  }
}

function describeFailure(failure: RequestFailure): string {
  switch (failure.reason) {
    case "not-configured":
      return "No pipebook server is configured.";
    case "network":
      return `The pipebook server cannot be reached: ${failure.message}`;
    case "http":
      return `The pipebook server answered ${failure.status}: ${failure.message}`;
    case "bad-json":
      return `The pipebook server sent a reply that is not JSON: ${failure.message}`;
    case "reply-invalid":
      return describeReplyMismatch(failure);
    default:
      return unreachable(failure);
  }
}

let configured: PipebookServer | undefined;

/** Set by the panel plugin from the user's settings (direct mode). */
export function configureServer(server: PipebookServer | undefined): void {
  configured = server;
}

/** The server in use: settings first, then the workbench's page config, else none. */
export function currentServer(): PipebookServer | undefined {
  if (configured !== undefined) {
    return configured;
  }
  const apiPath = PageConfig.getOption("pipebookApiUrl");
  if (apiPath !== "") {
    return { kind: "proxy", url: URLExt.join(PageConfig.getBaseUrl(), apiPath) };
  }
  return undefined;
}

export interface RequestOptions {
  readonly method?: "GET" | "POST";
  readonly body?: unknown;
  /** `json` (default) parses the reply; `text` returns it as it is; `response` hands the open response over (streams). */
  readonly as?: "json" | "text" | "response";
  readonly signal?: AbortSignal;
}

/**
 * The one function through which the extension talks to the pipebook server.
 *
 * @param path a path relative to the server's base URL, e.g. `runs?limit=20`
 * @throws {PipebookRequestError} `not-configured` when no server is known, `network` when the
 *   request fails before a reply, `http` for any non-2xx status (the server's `error` field is
 *   the message when it sends one, its `code` and `reason` the failure's data), `bad-json` when a JSON reply does not parse. Aborting via
 *   `signal` rejects with the platform's AbortError, not a PipebookRequestError.
 */
export async function requestAPI<T = unknown>(path: string, options: RequestOptions = {}): Promise<T> {
  const server = currentServer();
  if (server === undefined) {
    throw new PipebookRequestError({ reason: "not-configured" });
  }
  const url = URLExt.join(server.url, path);
  const init: RequestInit = { method: options.method ?? "GET" };
  if (options.signal !== undefined) {
    init.signal = options.signal;
  }
  const headers: Record<string, string> = {};
  if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  let response: Response;
  try {
    if (server.kind === "proxy") {
      init.headers = headers;
      // Not JupyterLab's default `no-store`, which appends a cache-busting number to the URL that
      // the proxy would pass on to the pipebook server; `no-cache` revalidates every time instead.
      init.cache = "no-cache";
      response = await ServerConnection.makeRequest(url, init, ServerConnection.makeSettings());
    } else {
      init.headers = { ...headers, Authorization: `Bearer ${server.token}` };
      response = await fetch(url, init);
    }
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") {
      throw error;
    }
    throw new PipebookRequestError({ reason: "network", message: String(error) }, { cause: error });
  }
  if (!response.ok) {
    throw new PipebookRequestError({ reason: "http", status: response.status, ...(await errorReply(response)) });
  }
  switch (options.as ?? "json") {
    case "response":
      return response as T;
    case "text":
      return (await response.text()) as T;
    case "json": {
      const text = await response.text();
      try {
        return JSON.parse(text) as T;
      } catch (error) {
        throw new PipebookRequestError({ reason: "bad-json", message: text.slice(0, 200) }, { cause: error });
      }
    }
    default:
      return unreachable(options.as as never);
  }
}

/**
 * Reads a reply as the contract's schema `name` says (pipebook/contract/rest).
 *
 * @throws {PipebookRequestError} `reply-invalid`, with the reply's name and the first field that
 *   differs, when it has another shape.
 */
export function readReplyAs<N extends ReplySchemaName>(name: N, reply: unknown): Reply<N> {
  const read = parseReply(name, reply);
  if (read.ok) {
    return read.value;
  }
  throw new PipebookRequestError({ reason: "reply-invalid", ...read.mismatch });
}

/** The server's error reply (`ErrorReply`): its sentence, and an expected failure's code and reason. */
async function errorReply(response: Response): Promise<{ message: string; code?: FailureCode; failureReason?: string }> {
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown };
    const { code, reason } = readErrorReply(body);
    const data = { ...(code !== undefined && { code }), ...(reason !== undefined && { failureReason: reason }) };
    const message = body.error ?? body.message;
    if (typeof message === "string") {
      return { message, ...data };
    }
    if (typeof message === "object" && message !== null && typeof (message as { message?: unknown }).message === "string") {
      return { message: (message as { message: string }).message, ...data };
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return { message: text.slice(0, 200) || response.statusText };
}
