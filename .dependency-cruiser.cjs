// Layer rules for the engine (`npm test` runs them: test/architecture.test.ts). Type-only
// imports are erased at build and do not count; every value import does. Violations that
// existed when a rule was added are listed in .dependency-cruiser-known-violations.json and are
// to be removed; a new one fails the suite.
/** @type {import("dependency-cruiser").IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      comment: "a module must not import itself back through others: load order then decides what is undefined",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "contract-is-a-leaf",
      comment: "pipebook/contract is imported by the kernel, the lab extension and the page: it imports nothing of the engine",
      severity: "error",
      from: { path: "^src/contract/" },
      to: { path: "^src/", pathNot: "^src/contract/" },
    },
    {
      name: "dsl-declares-only",
      comment:
        "declarations (dsl/) import nothing that executes: no runner, compute, store, server, publishing, workspace (the composition root), " +
        "dataset reading (datasets/, but for its failures; dsl/Dataset.ts gets DatasetServices from the workspace or its datastores), " +
        "datastores, blobs, remote or agents, and no hashing of files (fingerprint/ but for digests of values; Module.ts snapshots through the workspace)",
      severity: "error",
      from: { path: "^src/dsl/" },
      to: {
        path: "^src/(runner|compute|store|server|publish|cli|workspace|datasets|datastores|blobs|artifacts|remote|agents|schedules|auth)/|^src/fingerprint/(snapshotSource|hashTree|hashFile|hashWorker|HashPool)\\.ts$",
        pathNot: "^src/datasets/[^/]*Failure\\.ts$",
      },
    },
    {
      name: "dsl-does-no-io",
      comment:
        "declarations (dsl/) touch no files, processes or network themselves: what runs is handed to them by the workspace " +
        "(DatasetServices, ws.snapshotSource; both datastore kinds are datastores/); pipebook.json's reading is the known exception, to be moved out",
      severity: "error",
      from: { path: "^src/dsl/" },
      to: { dependencyTypes: ["core"], path: "^(node:)?(fs|fs/promises|child_process|net|http|https|http2|dgram|worker_threads|cluster)$" },
    },
    {
      name: "runner-below-publishing",
      comment: "publishing runs pipelines through the runner; the runner reaches publishing only through the workspace's services",
      severity: "error",
      from: { path: "^src/runner/" },
      to: { path: "^src/(publish|server|cli)/" },
    },
    {
      name: "compute-below-runner",
      comment: "compute targets get self-contained step jobs (compute/Compute.ts); they know nothing of runs, publishing or the server",
      severity: "error",
      from: { path: "^src/compute/" },
      to: { path: "^src/(runner|publish|server|cli)/" },
    },
    {
      name: "only-the-store-opens-sqlite",
      comment: "store/ owns every SQL statement behind typed stores; nothing else loads the driver",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/store/" },
      to: { path: "node_modules/better-sqlite3/" },
    },
    {
      name: "only-the-server-knows-http",
      comment: "domain code never throws HTTP errors or imports express (the blob routes are the server's, server/blobRoutes.ts; an agent dials the server's WebSocket in agents/AgentConnection.ts)",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/(server|cli)/|^src/agents/AgentConnection\\.ts$" },
      to: { path: "^src/server/|node_modules/(express|ws)/" },
    },
  ],
  options: {
    tsConfig: { fileName: "tsconfig.json" },
    tsPreCompilationDeps: false,
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^src/server/web/" },
  },
};
