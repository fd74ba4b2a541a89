/**
 * Finds one cycle in a directed graph given as adjacency lists over 0..n-1, iteratively
 * (a 10,000-step chain must not overflow the stack). Returns the nodes in cycle order.
 */
export function detectCycle(successors: readonly (readonly number[])[]): { hasCycle: boolean; cycle: number[] } {
  const n = successors.length;
  const state = new Uint8Array(n); // 0 new, 1 on stack, 2 done
  const parent = new Int32Array(n).fill(-1);
  for (let start = 0; start < n; start++) {
    if (state[start] !== 0) continue;
    const stack: { node: number; next: number }[] = [{ node: start, next: 0 }];
    state[start] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const succ = successors[top.node]!;
      if (top.next < succ.length) {
        const m = succ[top.next++]!;
        if (state[m] === 0) {
          state[m] = 1;
          parent[m] = top.node;
          stack.push({ node: m, next: 0 });
        } else if (state[m] === 1) {
          const cycle = [m];
          for (let v = top.node; v !== m; v = parent[v]!) cycle.push(v);
          cycle.push(m);
          return { hasCycle: true, cycle: cycle.reverse() };
        }
      } else {
        state[top.node] = 2;
        stack.pop();
      }
    }
  }
  return { hasCycle: false, cycle: [] };
}
