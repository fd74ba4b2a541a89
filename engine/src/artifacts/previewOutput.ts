import { open, readdir, stat } from "node:fs/promises";
import { extname, join, relative } from "node:path";
import type { OutputPreview } from "../contract/runView.js";

const MAX_TEXT = 4096;
const MAX_IMAGE = 512 * 1024;
const MAX_ROWS = 20;
const IMAGE_MIME: Record<string, string> = { ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".svg": "image/svg+xml" };

/**
 * A small preview of an output for the notebook: the first file's head as a table (CSV/TSV),
 * an image, JSON or text; a listing when the output holds several files.
 */
export async function previewOutput(path: string): Promise<OutputPreview | undefined> {
  const st = await stat(path).catch(() => undefined);
  if (!st) return undefined;
  let file = path;
  if (st.isDirectory()) {
    const files = await listFiles(path, 50);
    if (files.length === 0) return { kind: "files", entries: [], truncated: false };
    if (files.length > 1) {
      const entries = await Promise.all(files.slice(0, 20).map(async (f) => ({ path: relative(path, f), size: (await stat(f)).size })));
      const first = await previewFile(files[0]!);
      // A folder of several files: the listing, unless the first file is worth showing itself.
      return first && first.kind !== "text" ? first : { kind: "files", entries, truncated: files.length > 20 };
    }
    file = files[0]!;
  }
  return previewFile(file);
}

async function previewFile(file: string): Promise<OutputPreview | undefined> {
  const ext = extname(file).toLowerCase();
  const size = (await stat(file)).size;
  const mime = IMAGE_MIME[ext];
  if (mime) {
    if (size > MAX_IMAGE) return { kind: "text", text: `${file} (${size} bytes image, too large to preview)`, truncated: true };
    return { kind: "image", mime, base64: (await readHead(file, MAX_IMAGE)).toString("base64") };
  }
  const head = await readHead(file, MAX_TEXT);
  if (head.includes(0)) return { kind: "text", text: `(binary file, ${size} bytes)`, truncated: false };
  const text = head.toString("utf8");
  const truncated = size > MAX_TEXT;
  if (ext === ".csv" || ext === ".tsv") {
    // The head may end mid-row: parse only complete lines.
    const complete = truncated ? text.slice(0, text.lastIndexOf("\n") + 1) : text;
    // Loaded when a table is previewed, not with the engine.
    const { parse } = await import("csv-parse/sync");
    const records = parse(complete, { delimiter: ext === ".tsv" ? "\t" : ",", relax_column_count: true, relax_quotes: true, skip_empty_lines: true }) as string[][];
    const [columns = [], ...rows] = records;
    return { kind: "table", columns, rows: rows.slice(0, MAX_ROWS), truncated: truncated || rows.length > MAX_ROWS };
  }
  if (ext === ".json" && !truncated) {
    try {
      return { kind: "json", value: JSON.parse(text) };
    } catch {
      // Not valid JSON after all: show it as text.
    }
  }
  return { kind: "text", text, truncated };
}

async function readHead(file: string, max: number): Promise<Buffer> {
  const h = await open(file, "r");
  try {
    const buf = Buffer.alloc(max);
    const { bytesRead } = await h.read(buf, 0, max, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await h.close();
  }
}

async function listFiles(dir: string, limit: number): Promise<string[]> {
  const out: string[] = [];
  const visit = async (d: string): Promise<void> => {
    const entries = (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (out.length >= limit) return;
      if (e.isDirectory()) await visit(join(d, e.name));
      else if (e.isFile()) out.push(join(d, e.name));
    }
  };
  await visit(dir);
  return out;
}
