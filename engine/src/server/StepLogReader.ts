import { closeSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import type { LogFrame } from "../contract/rest.js";
import type { RunView } from "../contract/runView.js";
import type { Workspace } from "../workspace/Workspace.js";
import { stepRunIdOf } from "../store/RunStore.js";

/** Bytes of one log read into one frame at most. */
const FRAME_BYTES = 1 << 20;

/** Steps whose own log grows or grew in this run (a reused step's log is its origin's). */
const LOGGING = new Set(["running", "completed", "failed", "canceled"]);

/**
 * Reads the lines each step of a run wrote to its `output.log` since the last read, for a live
 * feed (`GET /runs/{id}/events?logs=1`): whole lines while the step runs, the rest once it ended.
 * Its position (bytes read per step) is each frame's SSE id, so a client that reconnects with
 * `Last-Event-ID` goes on where it was, without a line twice. A log rotated since (output.1.log)
 * is read to its end first.
 */
export class StepLogReader {
  private readonly offsets: Record<string, number>;

  constructor(
    private readonly ws: Workspace,
    private readonly runId: string,
    lastEventId: string | undefined,
  ) {
    this.offsets = parsePosition(lastEventId);
  }

  /** The frames written since the last call, each with the position after it. */
  read(view: RunView): { frame: LogFrame; position: string }[] {
    const out: { frame: LogFrame; position: string }[] = [];
    for (const s of view.steps) {
      if (!LOGGING.has(s.status)) continue;
      const row = this.ws.runs.getStep(stepRunIdOf(this.runId, s.name));
      if (!row) continue;
      const ended = s.status !== "running";
      const current = join(row.logDir, "output.log");
      const size = sizeOf(current);
      let offset = this.offsets[s.name] ?? 0;
      if (size < offset) {
        // Rotated: the end of what was output.log is now output.1.log.
        for (const text of chunks(join(row.logDir, "output.1.log"), offset, sizeOf(join(row.logDir, "output.1.log")), true)) out.push({ frame: { step: s.name, text }, position: "" });
        offset = 0;
      }
      for (const text of chunks(current, offset, size, ended)) {
        offset += Buffer.byteLength(text);
        this.offsets[s.name] = offset;
        out.push({ frame: { step: s.name, text }, position: JSON.stringify(this.offsets) });
      }
      this.offsets[s.name] = offset;
    }
    const position = JSON.stringify(this.offsets);
    return out.map((f) => ({ frame: f.frame, position: f.position || position }));
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The text of `path` from `from` to `to` in frames, cut after its last newline unless `whole`. */
function chunks(path: string, from: number, to: number, whole: boolean): string[] {
  if (to <= from) return [];
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return [];
  }
  try {
    const out: string[] = [];
    let pos = from;
    while (pos < to) {
      const buf = Buffer.alloc(Math.min(FRAME_BYTES, to - pos));
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      let take = n;
      if (!(whole && pos + n >= to)) {
        const nl = buf.lastIndexOf(10, n - 1);
        if (nl < 0) break; // no whole line yet
        take = nl + 1;
      }
      out.push(buf.toString("utf8", 0, take));
      pos += take;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

function parsePosition(id: string | undefined): Record<string, number> {
  if (!id) return {};
  try {
    const parsed = JSON.parse(id) as unknown;
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, number] => Number.isSafeInteger(e[1]) && e[1] >= 0));
  } catch {
    return {};
  }
}
