import type { EngineServices } from "../workspace/Workspace.js";
import type { RemoteServer } from "./RemoteServer.js";
import { submitToServer } from "./submitToServer.js";

/**
 * The engine's services for a workspace that submits to a server (see EngineServices): runs go
 * to the server; publishing and reading recorded runs through the SDK are a local workspace's
 * (the server's own `pipebook publish`, or REST, does them there).
 */
export function remoteServices(server: RemoteServer): EngineServices {
  return {
    submit: (experiment, pipeline, options) => submitToServer(server, experiment, pipeline, options),
    publish: () => Promise.reject(server.localOnly("publishing a pipeline object")),
    publishRun: (_ws, runId) => Promise.reject(server.localOnly(`publishing run ${runId} through the SDK`)),
    recordedRun: (_ws, runId) => Promise.reject(server.localOnly(`reading run ${runId} through PipelineRun.get`)),
  };
}
