import { inspect } from "node:util";
import type { MimeBundle } from "../protocol/messages.js";

import { MIME_BUNDLE } from "pipebook/contract";

export { MIME_BUNDLE };

/** Values marked with this (display handles) are not echoed as a cell's result: they were shown already. */
export const NO_RESULT: unique symbol = Symbol.for("pipebook.noResult");

export function isSilentResult(v: unknown): boolean {
  return typeof v === "object" && v !== null && (v as Record<symbol, unknown>)[NO_RESULT] === true;
}

export interface HasMimeBundle { [MIME_BUNDLE](): MimeBundle }

function hasMimeBundle(v: unknown): v is HasMimeBundle {
  return (typeof v === "object" || typeof v === "function") && v !== null && typeof (v as Record<symbol, unknown>)[MIME_BUNDLE] === "function";
}

/** Extra renderers, tried before the plain-text fallback (the run display registers one). */
export type BundleRenderer = (value: unknown) => MimeBundle | undefined;
const renderers: BundleRenderer[] = [];
export function addRenderer(r: BundleRenderer): void { renderers.push(r); }

export function plainText(value: unknown): string {
  return typeof value === "string" && value.includes("\n") ? value : inspect(value, { depth: 4, colors: false, maxArrayLength: 100, breakLength: 100 });
}

export function toMimeBundle(value: unknown): MimeBundle {
  if (hasMimeBundle(value)) {
    const b = value[MIME_BUNDLE]();
    return "text/plain" in b ? b : { ...b, "text/plain": plainText(value) };
  }
  for (const r of renderers) {
    const b = r(value);
    if (b) return b;
  }
  return { "text/plain": plainText(value) };
}
