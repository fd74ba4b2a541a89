import type { CellDiagnostic, TypecheckMode } from "./cellDiagnostic.js";

export type CompileReply =
  | {
    readonly status: "ok"; readonly code: string; readonly sourceMap: string; readonly hasResult: boolean; readonly diagnostics: CellDiagnostic[];
    /** The cell declares top-level names, so later cells see a different scope. */
    readonly declares: boolean;
  }
  | { readonly status: "refused"; readonly diagnostics: CellDiagnostic[] };

export interface CompletionResult { readonly matches: string[]; readonly start: number; readonly end: number; readonly types: string[] }
export interface InspectResult { readonly signature: string; readonly documentation: string }
export type IsCompleteStatus = { readonly status: "complete" | "invalid" } | { readonly status: "incomplete"; readonly indent: string };

/** Requests to the compiler thread, each with the reply it gets. */
export interface CompilerRequests {
  compile: { args: { index: number; code: string; mode: TypecheckMode }; reply: CompileReply };
  complete: { args: { code: string; pos: number }; reply: CompletionResult };
  inspect: { args: { code: string; pos: number }; reply: InspectResult | null };
  isComplete: { args: { code: string }; reply: IsCompleteStatus };
  /** Persist the TypeScript code cache now (the kernel asks before it exits). */
  saveCache: { args: Record<string, never>; reply: null };
}
export type CompilerRequestName = keyof CompilerRequests;

export type ToCompiler = {
  [K in CompilerRequestName]: { readonly id: number; readonly kind: K; readonly args: CompilerRequests[K]["args"] }
}[CompilerRequestName];

export type FromCompiler =
  | { readonly id: number; readonly ok: true; readonly reply: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string };
