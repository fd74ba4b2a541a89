/**
 * The REST server's list replies (`GET /runs`, `/pipelines`, `/endpoints`) as the panel reads
 * them. The server (issue 5) was written after this panel, so the readers accept the field
 * spellings the engine's DSL and the Azure ML REST API both use (`id`/`Id`, `name`/`Name`) and
 * drop entries without an id instead of failing the whole list.
 */
export interface RunSummary {
  readonly runId: string;
  readonly experiment: string;
  readonly status: string;
  readonly createdAt?: string;
}

export interface PipelineSummary {
  readonly id: string;
  readonly name: string;
  readonly version?: string;
  readonly description?: string;
}

export interface EndpointSummary {
  readonly name: string;
  readonly defaultVersion?: string;
  readonly description?: string;
}

type Json = Record<string, unknown>;

function field(entry: Json, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = entry[name];
    if (typeof value === "string" || typeof value === "number") {
      return String(value);
    }
  }
  return undefined;
}

/** Lists may come bare (`[...]`) or wrapped (`{runs: [...]}` / `{value: [...]}`). */
function entries(reply: unknown, key: string): Json[] {
  const list = Array.isArray(reply) ? reply : typeof reply === "object" && reply !== null ? ((reply as Json)[key] ?? (reply as Json)["value"]) : undefined;
  return Array.isArray(list) ? list.filter((e): e is Json => typeof e === "object" && e !== null) : [];
}

export function readRunSummaries(reply: unknown): RunSummary[] {
  return entries(reply, "runs").flatMap((entry) => {
    const runId = field(entry, "runId", "id", "Id");
    if (runId === undefined) {
      return [];
    }
    const createdAt = field(entry, "createdAt", "created", "CreatedTime");
    const summary = { runId, experiment: field(entry, "experiment", "experimentName", "ExperimentName") ?? "", status: field(entry, "status", "Status") ?? "" };
    return [createdAt === undefined ? summary : { ...summary, createdAt }];
  });
}

export function readPipelineSummaries(reply: unknown): PipelineSummary[] {
  return entries(reply, "pipelines").flatMap((entry) => {
    const id = field(entry, "id", "Id");
    if (id === undefined) {
      return [];
    }
    return [dropUndefined({ id, name: field(entry, "name", "Name") ?? id, version: field(entry, "version", "Version"), description: field(entry, "description", "Description") })];
  });
}

export function readEndpointSummaries(reply: unknown): EndpointSummary[] {
  return entries(reply, "endpoints").flatMap((entry) => {
    const name = field(entry, "name", "Name");
    if (name === undefined) {
      return [];
    }
    return [dropUndefined({ name, defaultVersion: field(entry, "defaultVersion", "DefaultVersion"), description: field(entry, "description", "Description") })];
  });
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
