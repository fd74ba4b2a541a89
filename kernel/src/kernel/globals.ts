import { createRequire } from "node:module";
import type { CommManager } from "../comm/commManager.js";
import type { DisplayFunction } from "../display/displayApi.js";
import { KERNEL_GLOBAL } from "../execute/kernelGlobalName.js";

export interface GlobalsDeps {
  readonly importer: (specifier: string) => Promise<unknown>;
  readonly display: DisplayFunction;
  readonly clearOutput: (wait?: boolean) => void;
  readonly input: (prompt: string, password: boolean) => Promise<string>;
  readonly comms: CommManager;
  readonly dir: string;
  readonly notebookPipeline: () => Promise<unknown>;
}

/** The names every notebook has (typed for the checker in execute/kernelGlobals.ts). */
export function installGlobals(d: GlobalsDeps): void {
  const g = globalThis as Record<string, unknown>;
  Object.defineProperty(globalThis, KERNEL_GLOBAL, { value: { import: d.importer }, enumerable: false, configurable: true, writable: true });
  g["display"] = d.display;
  g["clearOutput"] = d.clearOutput;
  g["input"] = (prompt = "") => d.input(prompt, false);
  g["password"] = (prompt = "") => d.input(prompt, true);
  g["comms"] = {
    open: (target: string, data?: Record<string, unknown>) => d.comms.open(target, data),
    registerTarget: (target: string, handler: Parameters<CommManager["registerTarget"]>[1]) => d.comms.registerTarget(target, handler),
  };
  g["require"] = createRequire(`${d.dir}/`);
  g["notebookPipeline"] = d.notebookPipeline;
}
