/** What the user typed in the "Publish pipeline as endpoint" dialog. */
export interface PublishRequest {
  readonly runId: string;
  readonly name: string;
  readonly version: string;
  readonly description: string;
}

export type PublishValidation = { readonly ok: true } | { readonly ok: false; readonly field: "name" | "version"; readonly message: string };

/** Endpoint names go into URLs (`/endpoints/{name}/runs`): letters, digits, `_`, `-`, `.`. */
export function validatePublish(request: Omit<PublishRequest, "runId">): PublishValidation {
  if (!/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(request.name)) {
    return { ok: false, field: "name", message: "Use 1–64 letters, digits, '_', '-' or '.', starting with a letter." };
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/.test(request.version)) {
    return { ok: false, field: "version", message: "Use a version such as 1.0 (letters, digits, '_', '-', '.')." };
  }
  return { ok: true };
}

/**
 * Kernel code that publishes a finished run of this notebook when no pipebook server is
 * configured (the local workspace): the run's pipeline becomes a published pipeline, put behind
 * an endpoint of the same name. Values are embedded as JSON literals, never spliced as code.
 * It runs in its own async function so nothing leaks into the user's kernel namespace.
 */
export function publishKernelCode(request: PublishRequest): string {
  const args = JSON.stringify({ name: request.name, version: request.version, description: request.description });
  return [
    "await (async () => {",
    '  const { Workspace, PipelineRun, PipelineEndpoint } = await import("pipebook");',
    "  const ws = await Workspace.fromConfig();",
    `  const run = await PipelineRun.get(ws, ${JSON.stringify(request.runId)});`,
    `  const options = ${args};`,
    "  const published = await run.publishPipeline(options);",
    "  const endpoint = await PipelineEndpoint.publish(ws, { name: options.name, pipeline: published, description: options.description });",
    '  console.log(`Published ${published.id} as endpoint ${options.name} (version ${options.version})`);',
    "  return endpoint;",
    "})();",
  ].join("\n");
}
