/**
 * TypeScript, loaded with require: importing its 9 MB CommonJS bundle from ESM makes Node scan it
 * for named exports first (half a second of the compiler thread's start-up).
 */
import { createRequire } from "node:module";
import type * as TS from "typescript";

export const ts = createRequire(import.meta.url)("typescript") as typeof TS;
export type { TS };
