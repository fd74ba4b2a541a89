/**
 * The extension's one exhaustiveness guard: a switch on a union reached a case it does not
 * name. Both of the extension's builds use it (the browser code, and `install/`, which runs in
 * Node), which is why it sits apart from either.
 */
export function unreachable(x: never): never {
  throw new Error(`unreachable: ${JSON.stringify(x)}`);
}
