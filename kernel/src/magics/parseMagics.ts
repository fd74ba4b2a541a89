/**
 * Magics, as in IPython: `%%name args` on the first line makes the whole cell a cell magic;
 * `%name args` lines at the top of a cell are line magics, and the rest of the cell is TypeScript.
 * `?expr` or `expr?` alone in a cell asks for help on `expr` (shown in the pager).
 */
export interface MagicCall { readonly name: string; readonly args: string[]; readonly line: string }

export type ParsedCell =
  | { readonly kind: "code"; readonly lineMagics: MagicCall[]; readonly code: string; readonly codeLineOffset: number }
  | { readonly kind: "cell-magic"; readonly magic: MagicCall; readonly body: string }
  | { readonly kind: "help"; readonly expression: string };

export function parseCell(source: string): ParsedCell {
  const help = /^\s*\?\s*([\w$.]+)\s*$/.exec(source) ?? /^\s*([\w$.]+)\s*\?\s*$/.exec(source);
  if (help) return { kind: "help", expression: help[1]! };
  if (source.startsWith("%%")) {
    const nl = source.indexOf("\n");
    const first = nl < 0 ? source : source.slice(0, nl);
    return { kind: "cell-magic", magic: call(first.slice(2)), body: nl < 0 ? "" : source.slice(nl + 1) };
  }
  const lines = source.split("\n");
  const lineMagics: MagicCall[] = [];
  let i = 0;
  for (; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^\s*%[a-zA-Z]/.test(l)) lineMagics.push(call(l.trim().slice(1)));
    else if (l.trim() !== "" || lineMagics.length === 0) break;
  }
  if (lineMagics.length === 0) return { kind: "code", lineMagics, code: source, codeLineOffset: 0 };
  // Magic lines become blank lines, so error positions still match the cell.
  return { kind: "code", lineMagics, code: `${"\n".repeat(i)}${lines.slice(i).join("\n")}`, codeLineOffset: 0 };
}

function call(text: string): MagicCall {
  const parts = splitArgs(text.trim());
  return { name: parts[0] ?? "", args: parts.slice(1), line: text.trim() };
}

/** Splits like a shell: spaces separate, quotes group. */
export function splitArgs(s: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(s); m; m = re.exec(s)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? m[3] ?? ""));
  return out;
}
