import { createWriteStream, existsSync, mkdirSync, readFileSync, type WriteStream } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { unreachable } from "../unreachable.js";

/** One executed cell as the history keeps it. `output` is the text/plain of its result, if any. */
export interface HistoryEntry {
  readonly session: number;
  readonly line: number;
  readonly source: string;
  readonly output: string | null;
}

export type HistoryQuery =
  | { readonly kind: "tail"; readonly n: number }
  | { readonly kind: "range"; readonly session: number; readonly start: number; readonly stop: number | undefined }
  | { readonly kind: "search"; readonly pattern: string; readonly n: number | undefined; readonly unique: boolean };

/**
 * Execution history, persisted as JSON lines so that later kernel sessions (and `history_request`
 * with session numbers, as IPython has them) see earlier ones. Each kernel start is a new session.
 */
export class HistoryStore {
  readonly #entries: HistoryEntry[] = [];
  readonly session: number;

  constructor(readonly file: string) {
    if (existsSync(file)) {
      for (const l of readFileSync(file, "utf8").split("\n")) {
        if (!l) continue;
        try { this.#entries.push(JSON.parse(l) as HistoryEntry); } catch { /* a torn last line after a crash */ }
      }
    }
    this.session = this.#entries.reduce((m, e) => Math.max(m, e.session), 0) + 1;
  }

  static defaultFile(): string {
    const env = process.env["PIPEBOOK_KERNEL_HISTORY"];
    if (env) return env;
    const base = process.env["XDG_DATA_HOME"] ?? join(homedir(), ".local", "share");
    return join(base, "pipebook", "kernel-history.jsonl");
  }

  #stream: WriteStream | undefined;
  #broken = false;

  add(line: number, source: string, output: string | null): void {
    const e: HistoryEntry = { session: this.session, line, source, output };
    this.#entries.push(e);
    // Appended through one open stream: the reply does not wait for the disk, and there is no
    // open/close per cell.
    const stream = this.#open();
    stream?.write(`${JSON.stringify(e)}\n`);
  }

  #open(): WriteStream | undefined {
    if (this.#stream || this.#broken) return this.#stream;
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      this.#stream = createWriteStream(this.file, { flags: "a" });
      // History is a convenience: a read-only home must not break execution.
      this.#stream.on("error", () => { this.#broken = true; this.#stream = undefined; });
    } catch { this.#broken = true; }
    return this.#stream;
  }

  /** Resolves once every entry added so far is on disk. */
  flushed(): Promise<void> {
    const s = this.#stream;
    if (!s || s.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => { s.write("", () => resolve()); });
  }

  query(q: HistoryQuery): HistoryEntry[] {
    switch (q.kind) {
      case "tail": return q.n > 0 ? this.#entries.slice(-q.n) : [];
      case "range": {
        // IPython: a session <= 0 counts back from the current one.
        const session = q.session <= 0 ? this.session + q.session : q.session;
        return this.#entries.filter((e) => e.session === session && e.line >= q.start && (q.stop === undefined || e.line < q.stop));
      }
      case "search": {
        const re = globToRegExp(q.pattern);
        let found = this.#entries.filter((e) => re.test(e.source));
        if (q.unique) {
          const seen = new Set<string>();
          found = found.reverse().filter((e) => (seen.has(e.source) ? false : (seen.add(e.source), true))).reverse();
        }
        return q.n !== undefined && q.n > 0 ? found.slice(-q.n) : found;
      }
      default: return unreachable(q);
    }
  }
}

/** IPython's search patterns are globs over the whole source (`*` any run, `?` one character). */
function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[\\s\\S]*").replace(/\?/g, "[\\s\\S]");
  return new RegExp(`^${body}$`);
}
