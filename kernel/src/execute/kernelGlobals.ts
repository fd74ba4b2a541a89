/**
 * Types of the globals the kernel puts in every notebook (see kernel/globals.ts), so the type
 * checker and completion know them. Kept next to the runtime side by name: change both together.
 */
export const KERNEL_GLOBALS_DTS = `
interface PipebookDisplayHandle { readonly displayId: string; update(value: unknown): void }
/** Show a value in the cell output (rich MIME bundle when the value has one). */
declare function display(value: unknown, options?: { displayId?: string }): PipebookDisplayHandle;
declare namespace display {
  function html(html: string): PipebookDisplayHandle;
  function markdown(markdown: string): PipebookDisplayHandle;
  function svg(svg: string): PipebookDisplayHandle;
  function png(data: Uint8Array | string): PipebookDisplayHandle;
  function jpeg(data: Uint8Array | string): PipebookDisplayHandle;
  function json(value: unknown): PipebookDisplayHandle;
  function text(text: string): PipebookDisplayHandle;
  function bundle(bundle: Record<string, unknown>, options?: { displayId?: string; metadata?: Record<string, unknown> }): PipebookDisplayHandle;
}
/** Clear this cell's output (wait: until the next output arrives). */
declare function clearOutput(wait?: boolean): void;
/** Ask the user for a line of text (stdin input_request). */
declare function input(prompt?: string): Promise<string>;
/** Ask the user for a secret; the front end hides what is typed. */
declare function password(prompt?: string): Promise<string>;
interface PipebookComm {
  readonly id: string; readonly targetName: string;
  send(data: Record<string, unknown>): void; close(data?: Record<string, unknown>): void;
  onMessage(handler: (data: Record<string, unknown>) => void): void; onClose(handler: (data: Record<string, unknown>) => void): void;
}
/** Jupyter comms: open one to a front-end target, or register a target front ends can open. */
declare const comms: {
  open(targetName: string, data?: Record<string, unknown>): PipebookComm;
  registerTarget(targetName: string, handler: (comm: PipebookComm, data: Record<string, unknown>) => void): void;
};
/** The pipeline made of this notebook's %%step cells (needs the pipebook package). */
declare function notebookPipeline(): Promise<import("pipebook").Pipeline>;
`;
