/** Any command implementation: commander passes the arguments, the options, then the command. */
type Action = (...args: never[]) => unknown;

/**
 * Commands that act on the workspace's own store, datasets or publishing: a project that submits
 * to a server (pipebook.json "server", PIPEBOOK_SERVER) gets one sentence saying so instead of
 * their acting on the local folder that only caches its snapshots.
 */
const LOCAL_ONLY: Readonly<Record<string, string>> = {
  gc: "pipebook gc",
  datasets: "pipebook datasets",
  modules: "pipebook modules",
  snapshot: "pipebook snapshot",
  serve: "pipebook serve",
  publish: "pipebook publish",
  pipelines: "pipebook pipelines",
  endpoints: "pipebook endpoints",
  token: "pipebook token",
  schedule: "pipebook schedule",
};

/** The top-level command name of the command commander passes last. */
function topLevelName(args: readonly unknown[]): string | undefined {
  let cmd = args.at(-1) as { name?: () => string; parent?: unknown } | undefined;
  if (typeof cmd?.name !== "function") return undefined;
  while (cmd && (cmd.parent as { parent?: unknown } | undefined)?.parent) cmd = cmd.parent as typeof cmd;
  return cmd?.name?.();
}

/**
 * A command's action whose module is loaded only when the command runs. The CLI's grammar
 * (names, arguments, options, help) imports commander and nothing of the engine, so `pipebook
 * --help` loads no engine module and `pipebook runs` loads only what listing runs needs: the
 * whole engine (compute targets, publishing, the server) takes several times longer to load than
 * those commands take to answer.
 */
export function lazyAction<M extends Record<K, Action>, K extends keyof M & string>(load: () => Promise<M>, name: K): (...args: Parameters<M[K]>) => Promise<void> {
  return async (...args) => {
    const top = topLevelName(args);
    const localOnly = top === undefined ? undefined : LOCAL_ONLY[top];
    if (localOnly !== undefined) {
      const server = await (await import("../remote/projectServer.js")).projectServer();
      if (server) throw server.localOnly(localOnly);
    }
    const mod = await load();
    await mod[name](...args);
  };
}
