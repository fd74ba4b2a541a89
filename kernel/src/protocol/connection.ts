import { readFile } from "node:fs/promises";

/** The connection file Jupyter writes before it starts a kernel. */
export interface ConnectionInfo {
  readonly transport: "tcp" | "ipc";
  readonly ip: string;
  readonly shell_port: number;
  readonly iopub_port: number;
  readonly stdin_port: number;
  readonly control_port: number;
  readonly hb_port: number;
  readonly signature_scheme: string;
  readonly key: string;
  readonly kernel_name?: string;
}

export type SocketName = "shell" | "control" | "stdin" | "iopub" | "hb";

export async function readConnectionFile(path: string): Promise<ConnectionInfo> {
  const raw: unknown = JSON.parse(await readFile(path, "utf8"));
  if (typeof raw !== "object" || raw === null) throw new Error(`connection file ${path} is not a JSON object`);
  const o = raw as Record<string, unknown>;
  for (const k of ["shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"]) {
    if (typeof o[k] !== "number") throw new Error(`connection file ${path}: ${k} must be a number`);
  }
  const scheme = typeof o["signature_scheme"] === "string" ? o["signature_scheme"] : "hmac-sha256";
  if (scheme !== "hmac-sha256" && (o["key"] ?? "") !== "") {
    throw new Error(`connection file ${path}: signature scheme ${scheme} is not supported (only hmac-sha256)`);
  }
  return {
    transport: o["transport"] === "ipc" ? "ipc" : "tcp",
    ip: typeof o["ip"] === "string" ? o["ip"] : "127.0.0.1",
    shell_port: o["shell_port"] as number,
    iopub_port: o["iopub_port"] as number,
    stdin_port: o["stdin_port"] as number,
    control_port: o["control_port"] as number,
    hb_port: o["hb_port"] as number,
    signature_scheme: scheme,
    key: typeof o["key"] === "string" ? o["key"] : "",
    ...(typeof o["kernel_name"] === "string" ? { kernel_name: o["kernel_name"] } : {}),
  };
}

export function endpoint(info: ConnectionInfo, socket: SocketName): string {
  const port = info[`${socket}_port` as const];
  return info.transport === "ipc" ? `ipc://${info.ip}-${port}` : `tcp://${info.ip}:${port}`;
}
