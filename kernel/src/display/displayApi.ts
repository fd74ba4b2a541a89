import { randomUUID } from "node:crypto";
import type { MimeBundle } from "../protocol/messages.js";
import { NO_RESULT, toMimeBundle } from "./mimeBundle.js";

/** What the display functions need from the kernel. */
export interface DisplayPublisher {
  display(bundle: MimeBundle, metadata: Record<string, unknown>, displayId: string | undefined): void;
  update(bundle: MimeBundle, metadata: Record<string, unknown>, displayId: string): void;
  clear(wait: boolean): void;
}

/** A shown output that a later call can replace in place (update_display_data). */
export interface DisplayHandle {
  /** Returning a handle from a cell does not echo it: it was shown already. */
  readonly [NO_RESULT]: true;
  readonly displayId: string;
  update(value: unknown): void;
}

export interface DisplayFunction {
  (value: unknown, options?: { displayId?: string }): DisplayHandle;
  html(html: string): DisplayHandle;
  markdown(md: string): DisplayHandle;
  svg(svg: string): DisplayHandle;
  png(data: Uint8Array | string): DisplayHandle;
  jpeg(data: Uint8Array | string): DisplayHandle;
  json(value: unknown): DisplayHandle;
  text(text: string): DisplayHandle;
  /** Send a MIME bundle as it is (JSON payloads stay objects). */
  bundle(bundle: MimeBundle, options?: { displayId?: string; metadata?: Record<string, unknown> }): DisplayHandle;
}

const b64 = (d: Uint8Array | string): string => (typeof d === "string" ? d : Buffer.from(d).toString("base64"));

export function makeDisplay(pub: DisplayPublisher): { display: DisplayFunction; clearOutput: (wait?: boolean) => void } {
  const show = (bundle: MimeBundle, displayId: string | undefined, metadata: Record<string, unknown> = {}): DisplayHandle => {
    const id = displayId ?? randomUUID();
    pub.display(bundle, metadata, id);
    return { [NO_RESULT]: true, displayId: id, update: (v: unknown) => pub.update(typeof v === "object" && v !== null && isBundle(v) ? v : toMimeBundle(v), {}, id) };
  };
  const display = ((value: unknown, options?: { displayId?: string }) => show(toMimeBundle(value), options?.displayId)) as DisplayFunction;
  display.html = (html) => show({ "text/html": html, "text/plain": "[HTML]" }, undefined);
  display.markdown = (md) => show({ "text/markdown": md, "text/plain": md }, undefined);
  display.svg = (svg) => show({ "image/svg+xml": svg, "text/plain": "[SVG image]" }, undefined);
  display.png = (d) => show({ "image/png": b64(d), "text/plain": "[PNG image]" }, undefined);
  display.jpeg = (d) => show({ "image/jpeg": b64(d), "text/plain": "[JPEG image]" }, undefined);
  display.json = (v) => show({ "application/json": v as object, "text/plain": JSON.stringify(v, null, 2) }, undefined);
  display.text = (t) => show({ "text/plain": t }, undefined);
  display.bundle = (bundle, options) => show(bundle, options?.displayId, options?.metadata);
  return { display, clearOutput: (wait = false) => pub.clear(wait) };
}

function isBundle(v: object): v is MimeBundle {
  const keys = Object.keys(v);
  return keys.length > 0 && keys.every((k) => /^[a-z]+\/[\w.+-]+$/.test(k));
}
