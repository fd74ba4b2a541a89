import type { MagicCall } from "./parseMagics.js";
import { MagicError } from "./magicError.js";

/** A line magic runs before the cell's code; a cell magic owns the whole cell body. */
export type LineMagic = (call: MagicCall) => Promise<unknown> | unknown;
export type CellMagic = (call: MagicCall, body: string) => Promise<unknown> | unknown;

export class MagicRegistry {
  readonly #line = new Map<string, { run: LineMagic; help: string }>();
  readonly #cell = new Map<string, { run: CellMagic; help: string }>();

  line(name: string, help: string, run: LineMagic): void { this.#line.set(name, { run, help }); }
  cell(name: string, help: string, run: CellMagic): void { this.#cell.set(name, { run, help }); }

  runLine(call: MagicCall): Promise<unknown> | unknown {
    const m = this.#line.get(call.name);
    if (!m) throw new MagicError({ reason: "magic-unknown", kind: "line", name: call.name, known: [...this.#line.keys()] });
    return m.run(call);
  }

  runCell(call: MagicCall, body: string): Promise<unknown> | unknown {
    const m = this.#cell.get(call.name);
    if (!m) throw new MagicError({ reason: "magic-unknown", kind: "cell", name: call.name, known: [...this.#cell.keys()] });
    return m.run(call, body);
  }

  help(): string {
    return [...[...this.#line].map(([k, v]) => `%${k}  ${v.help}`), ...[...this.#cell].map(([k, v]) => `%%${k}  ${v.help}`)].join("\n");
  }
}
