import { writeSync } from "node:fs";

/**
 * Writes `text` to standard output synchronously, without making `process.stdout`: Node builds
 * that stream on first use (a socket for a pipe, a tty stream for a terminal), which loads its
 * net and stream modules, several milliseconds of a command that answers from the run history in
 * a few. A descriptor that refuses a synchronous write (EAGAIN: a non-blocking pipe) gets the
 * rest through process.stdout, as before.
 */
export function writeStdout(text: string): void {
  const bytes = Buffer.from(text, "utf8");
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(1, bytes, done);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      process.stdout.write(bytes.subarray(done));
      return;
    }
  }
}
