import { builtinModules, createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const BUILTINS = new Set(builtinModules);
/** Without this flag, import.meta.resolve ignores its parent argument (Node 20). */
const CAN_RESOLVE_FROM_PARENT = process.execArgv.includes("--experimental-import-meta-resolve");

/** Packages a notebook can import without installing them (they come with the kernel). */
export const PRELOADED = ["pipebook"] as const;

function isBare(spec: string): boolean {
  return !spec.startsWith(".") && !spec.startsWith("/") && !spec.startsWith("file:");
}

/**
 * `import` for cells: specifiers resolve from the notebook's folder with Node's ESM rules (so
 * `pipebook` and packages installed next to the notebook are found); `.ts` files load through tsx.
 */
export function makeImporter(dir: string): (specifier: string) => Promise<unknown> {
  const parentUrl = pathToFileURL(`${dir}/`).href;
  const requireFromDir = createRequire(`${dir}/`);
  const fromDir = (spec: string): string => {
    if (CAN_RESOLVE_FROM_PARENT) return import.meta.resolve(spec, parentUrl);
    if (spec.startsWith("file:")) return spec;
    return pathToFileURL(requireFromDir.resolve(spec)).href;
  };
  const resolve = (spec: string): string => {
    if (spec.startsWith("node:") || BUILTINS.has(spec)) return spec;
    try {
      return fromDir(spec);
    } catch (e) {
      // The kernel's own packages (pipebook above all) are there for every notebook, installed
      // next to it or not.
      if (isBare(spec) && PRELOADED.some((p) => spec === p || spec.startsWith(`${p}/`))) return import.meta.resolve(spec);
      throw e;
    }
  };
  return async (specifier: string): Promise<unknown> => {
    const url = resolve(specifier);
    if (/\.(c|m)?tsx?$/.test(url)) {
      const { tsImport } = await import("tsx/esm/api");
      return tsImport(url, parentUrl);
    }
    return import(url);
  };
}
