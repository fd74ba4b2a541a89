/**
 * The kernel's one exhaustiveness guard: a switch on a union reached a case it does not name.
 * A handler that must log rather than throw (a worker's message loop) words the value with
 * `describeUnreachable` instead.
 */
export function unreachable(x: never): never {
  throw new Error(describeUnreachable(x));
}

export function describeUnreachable(x: never): string {
  return `unreachable: ${JSON.stringify(x)}`;
}
