/** Any command implementation: commander passes the arguments, the options, then the command. */
type Action = (...args: never[]) => unknown;

/**
 * A command's action whose module is loaded only when the command runs. The CLI's grammar
 * (names, arguments, options, help) imports commander and nothing of the engine, so `pipebook
 * --help` loads no engine module and `pipebook runs` loads only what listing runs needs: the
 * whole engine (compute targets, publishing, the server) takes several times longer to load than
 * those commands take to answer.
 */
export function lazyAction<M extends Record<K, Action>, K extends keyof M & string>(load: () => Promise<M>, name: K): (...args: Parameters<M[K]>) => Promise<void> {
  return async (...args) => {
    const mod = await load();
    await mod[name](...args);
  };
}
