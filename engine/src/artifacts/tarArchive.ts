import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { ArtifactError } from "./ArtifactFailure.js";

/** One regular file of an archive: its path inside, its size and where its bytes are. */
export interface TarEntry {
  readonly path: string;
  readonly size: number;
  readonly source: string;
}

const BLOCK = 512;

/**
 * A POSIX ustar archive of regular files, streamed (a step's snapshot over REST). Written here
 * rather than with a tar package: the engine declares none, the format's writing side for plain
 * files is one header per file, and `tar` reads it back in the tests. Paths longer than 100
 * bytes go into the prefix field (up to 255 in all); longer ones are refused.
 */
export function tarArchive(entries: readonly TarEntry[], mtime: Date): Readable {
  for (const e of entries) {
    splitPath(e.path);
    if (e.size >= 8 ** 11) throw new ArtifactError({ reason: "archive-file-too-large", path: e.path });
  }
  return Readable.from(
    (async function* () {
      for (const e of entries) {
        yield header(e, mtime);
        let written = 0;
        for await (const chunk of createReadStream(e.source)) {
          written += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
        if (written !== e.size) throw new ArtifactError({ reason: "archive-file-changed", path: e.path, expected: e.size, actual: written });
        if (e.size % BLOCK !== 0) yield Buffer.alloc(BLOCK - (e.size % BLOCK));
      }
      yield Buffer.alloc(2 * BLOCK);
    })(),
    { objectMode: false },
  );
}

function header(e: TarEntry, mtime: Date): Buffer {
  const h = Buffer.alloc(BLOCK);
  const { name, prefix } = splitPath(e.path);
  h.write(name, 0, 100, "utf8");
  h.write(octal(0o644, 8), 100, 8, "ascii");
  h.write(octal(0, 8), 108, 8, "ascii");
  h.write(octal(0, 8), 116, 8, "ascii");
  h.write(octal(e.size, 12), 124, 12, "ascii");
  h.write(octal(Math.floor(mtime.getTime() / 1000), 12), 136, 12, "ascii");
  h.write("        ", 148, 8, "ascii");
  h.write("0", 156, 1, "ascii");
  h.write("ustar\u000000", 257, 8, "ascii");
  h.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, "0")}\u0000 `, 148, 8, "ascii");
  return h;
}

/** A number as the zero-padded octal text ustar expects, NUL-terminated. */
function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, "0")}\u0000`;
}

function splitPath(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: "" };
  const parts = path.split("/");
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join("/");
    const name = parts.slice(i).join("/");
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  throw new ArtifactError({ reason: "archive-path-too-long", path });
}
