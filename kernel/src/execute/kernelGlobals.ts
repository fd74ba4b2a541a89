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
`;

/**
 * `notebookPipeline` typed with pipebook's Pipeline. That type's declarations reach ~180 files
 * (pipebook's, and zod's through Workspace), and every distinct cell is a new program that reuses
 * and merges every file it has: so the checker gets this declaration only once some cell names
 * `notebookPipeline` (see CellLanguageService), and until then the stand-in below, which only
 * lets completion offer the name.
 */
export const NOTEBOOK_PIPELINE_DTS = `
/** The pipeline made of this notebook's %%step cells (needs the pipebook package). */
declare function notebookPipeline(): Promise<import("pipebook").Pipeline>;
`;

/** Stand-in for NOTEBOOK_PIPELINE_DTS while no cell names notebookPipeline. */
export const NOTEBOOK_PIPELINE_STANDIN_DTS = `
/** The pipeline made of this notebook's %%step cells (needs the pipebook package). */
declare function notebookPipeline(): Promise<unknown>;
`;

/** Whether a cell's text names notebookPipeline (then its checks need the full declaration). */
export function namesNotebookPipeline(text: string): boolean {
  return /\bnotebookPipeline\b/.test(text);
}
