/**
 * Linux refuses to start a process whose argument or environment string is longer than
 * MAX_ARG_STRLEN (32 pages: 128 KiB, its NUL included), and one whose strings and their pointers
 * together pass a quarter of the stack limit (ARG_MAX: 2 MiB under the usual 8 MiB stack).
 * Node's spawn then throws E2BIG synchronously, and a NUL inside a string makes it throw before
 * the kernel is asked. These are the kernel's default numbers, used here as fixed bounds: a
 * machine with a larger stack limit could start a bigger process, but a step that passes them
 * would start on one machine and not on the next.
 */
export const MAX_LAUNCH_STRING_BYTES = 128 * 1024;
export const MAX_LAUNCH_TOTAL_BYTES = 2 * 1024 * 1024;

const POINTER_BYTES = 8;

/**
 * Why a process with this argv and environment cannot be started, in a sentence naming the
 * argument or variable, or undefined when it can. Checked by every target before it launches, so
 * a step that cannot start fails alone and says why, instead of failing at exec.
 */
export function launchSizeProblem(argv: readonly string[], env: Readonly<Record<string, string>>): string | undefined {
  let total = 0;
  let count = 0;
  const check = (what: () => string, text: string): string | undefined => {
    if (text.includes("\0")) return `${what()} holds a NUL character, which no process can be given`;
    const bytes = Buffer.byteLength(text) + 1;
    if (bytes > MAX_LAUNCH_STRING_BYTES) return `${what()} is ${bytes} bytes long; a process's argument or variable is at most ${MAX_LAUNCH_STRING_BYTES} bytes (128 KiB) here`;
    total += bytes;
    count++;
    return undefined;
  };
  for (const [i, arg] of argv.entries()) {
    const problem = check(() => (i === 0 ? `its program name` : `its argument ${i}`), arg);
    if (problem) return problem;
  }
  for (const [name, value] of Object.entries(env)) {
    const problem = check(() => `its environment variable ${name}`, `${name}=${value}`);
    if (problem) return problem;
  }
  total += (count + 2) * POINTER_BYTES;
  if (total > MAX_LAUNCH_TOTAL_BYTES) {
    return `its arguments and environment come to ${total} bytes; a process is given at most ${MAX_LAUNCH_TOTAL_BYTES} bytes (2 MiB) of them here`;
  }
  return undefined;
}
