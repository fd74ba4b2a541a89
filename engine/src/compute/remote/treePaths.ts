import { isAbsolute, normalize } from "node:path";

/**
 * A relative path that stays inside its folder: no absolute path, no "..", no empty or "."
 * parts, no backslashes or NULs. Whatever names a file sent over the wire passes here first, so
 * neither an agent nor a server writes outside the folder it means to.
 */
export function safeRelativePath(rel: string): boolean {
  if (rel.length === 0 || rel.length > 4096 || isAbsolute(rel) || rel.includes("\\") || rel.includes("\0")) return false;
  const parts = rel.split("/");
  if (parts.some((p) => p === "" || p === "." || p === "..")) return false;
  return normalize(rel) === rel;
}

/** Bytes in the unit a person reads: "0 B", "12.3 MiB", "1.0 GiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
