import type { CellDiagnostic, TypecheckMode } from "./cellDiagnostic.js";

export type CompileReply =
  | {
    readonly status: "ok"; readonly code: string; readonly sourceMap: string; readonly hasResult: boolean; readonly diagnostics: CellDiagnostic[];
    /** The cell declares top-level names, so later cells see a different scope. */
    readonly declares: boolean;
  }
  | { readonly status: "refused"; readonly diagnostics: CellDiagnostic[] };

/** A cell's check in the compiler thread; it joins the scope on `accept`. */
export type CheckReply =
  | { readonly status: "checked"; readonly diagnostics: CellDiagnostic[]; readonly declares: boolean }
  | { readonly status: "refused"; readonly diagnostics: CellDiagnostic[] };

/** A cell's transpile in the transpiler thread: the script to run, or its syntax errors. */
export interface TranspileReply { readonly syntax: CellDiagnostic[]; readonly code: string; readonly sourceMap: string; readonly hasResult: boolean }

export interface CompletionResult { readonly matches: string[]; readonly start: number; readonly end: number; readonly types: string[] }
export interface InspectResult { readonly signature: string; readonly documentation: string }
export type IsCompleteStatus = { readonly status: "complete" | "invalid" } | { readonly status: "incomplete"; readonly indent: string };

/** Requests to the compiler thread (type views, checks, completion), each with the reply it gets. */
export interface CompilerRequests {
  /** Check and transpile here: until the transpiler thread is ready (see CompilerClient.start). */
  compile: { args: { index: number; code: string; mode: TypecheckMode }; reply: CompileReply };
  check: { args: { index: number; code: string; mode: TypecheckMode }; reply: CheckReply };
  accept: { args: { index: number; code: string }; reply: null };
  complete: { args: { code: string; pos: number }; reply: CompletionResult };
  inspect: { args: { code: string; pos: number }; reply: InspectResult | null };
  isComplete: { args: { code: string }; reply: IsCompleteStatus };
  /** Answered once the thread's warm-up is done (it takes no message before). */
  ready: { args: Record<string, never>; reply: null };
  /** Persist the TypeScript code cache now (the kernel asks before it exits). */
  saveCache: { args: Record<string, never>; reply: null };
}

/** Requests to the transpiler thread, which needs no types. */
export interface TranspilerRequests {
  transpile: { args: { code: string }; reply: TranspileReply };
  isComplete: { args: { code: string }; reply: IsCompleteStatus };
}

export type ArgsOf<R, K extends keyof R> = R[K] extends { args: infer A } ? A : never;
export type ReplyOf<R, K extends keyof R> = R[K] extends { reply: infer A } ? A : never;

export type RequestOf<R> = {
  [K in keyof R & string]: { readonly id: number; readonly kind: K; readonly args: ArgsOf<R, K> }
}[keyof R & string];

export type ToCompiler = RequestOf<CompilerRequests>;
export type ToTranspiler = RequestOf<TranspilerRequests>;

/** A worker thread's answer to request `id`. */
export type FromCompiler =
  | { readonly id: number; readonly ok: true; readonly reply: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string };
