/** The last `n` lines of a log tail: what a reader of a saved notebook needs to see why a step failed. */
export function lastLines(text: string, n: number): string {
  return text.replace(/\s+$/, "").split("\n").slice(-n).join("\n");
}
