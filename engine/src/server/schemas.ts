import { z } from "zod";
import { EXPERIMENT_PATTERN, NAME_PATTERN, VERSION_PATTERN } from "../contract/names.js";
import { HttpError } from "./HttpError.js";

/** A parameter value as REST sends it; its type is checked against the parameter's default later. */
export const ParameterValueSchema = z.union([z.string(), z.number(), z.boolean()]);
/**
 * Names and values are checked against the pipeline later. `__proto__` is refused here, on the
 * object JSON.parse made: zod's record skips that key (a refinement on keys never sees it), so
 * `{"__proto__": 1}` was taken as no assignment at all and answered 201.
 */
const ParameterAssignmentsSchema = z.preprocess((value, ctx) => {
  if (typeof value === "object" && value !== null && Object.prototype.hasOwnProperty.call(value, "__proto__")) {
    ctx.addIssue({ code: "custom", message: 'parameter name "__proto__" is reserved' });
    return z.NEVER;
  }
  return value;
}, z.record(z.string(), ParameterValueSchema));

/**
 * The seeds' run request: `{"ExperimentName", "RunSource", "ParameterAssignments"}`. Strict:
 * a misspelt field is an error, not silently ignored.
 */
export const RunRequestSchema = z
  .object({
    ExperimentName: z.string().regex(EXPERIMENT_PATTERN, "must start with a letter or digit and hold only letters, digits, _ . - (at most 255)"),
    RunSource: z.string().max(64).optional(),
    ParameterAssignments: ParameterAssignmentsSchema.optional(),
    RegenerateOutputs: z.boolean().optional(),
  })
  .strict();
export type RunRequest = z.infer<typeof RunRequestSchema>;

/** `POST /runs/{id}/publish` (the workbench's "Publish pipeline as endpoint"). */
export const PublishRequestSchema = z
  .object({
    name: z.string().regex(NAME_PATTERN, "must be 1–64 letters, digits, _ . - starting with a letter"),
    version: z.string().regex(VERSION_PATTERN, "must be 1–32 letters, digits, _ . - starting with a letter or digit").optional(),
    description: z.string().max(2000).optional(),
    /** Put the published pipeline behind this endpoint (created, or given a new default version). */
    endpoint: z.string().regex(NAME_PATTERN, "must be 1–64 letters, digits, _ . - starting with a letter").optional(),
  })
  .strict();
export type PublishRequest = z.infer<typeof PublishRequestSchema>;

export const DefaultVersionRequestSchema = z.object({ version: z.string().regex(VERSION_PATTERN, "must be a version such as 0 or 1") }).strict();

/** `POST /schedules`: a target, an experiment, and exactly one trigger. */
export const ScheduleRequestSchema = z
  .object({
    name: z.string().regex(NAME_PATTERN, "must be 1–64 letters, digits, _ . - starting with a letter"),
    pipelineId: z.string().min(1).max(100).optional(),
    endpoint: z.string().regex(NAME_PATTERN, "must be an endpoint name").optional(),
    version: z.string().regex(VERSION_PATTERN, "must be a version such as 0 or 1").optional(),
    experiment: z.string().regex(EXPERIMENT_PATTERN, "must start with a letter or digit and hold only letters, digits, _ . -"),
    cron: z.string().min(1).max(200).optional(),
    timezone: z.string().min(1).max(64).optional(),
    watch: z.object({ datastore: z.string().min(1).max(64), path: z.string().max(1024), pollSeconds: z.number().int().min(1).max(86_400).optional() }).strict().optional(),
    ParameterAssignments: ParameterAssignmentsSchema.optional(),
  })
  .strict()
  .refine((b) => (b.pipelineId === undefined) !== (b.endpoint === undefined), { message: "give exactly one of pipelineId and endpoint", path: ["pipelineId"] })
  .refine((b) => (b.cron === undefined) !== (b.watch === undefined), { message: "give exactly one of cron and watch", path: ["cron"] })
  .refine((b) => b.version === undefined || b.endpoint !== undefined, { message: "version is for endpoints only", path: ["version"] });
export type ScheduleRequest = z.infer<typeof ScheduleRequestSchema>;

export const ListRunsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).optional(),
  experiment: z.string().regex(EXPERIMENT_PATTERN).optional(),
});

export const EndpointRunQuerySchema = z.object({ version: z.string().regex(VERSION_PATTERN, "must be a version such as 0 or 1").optional() });

function fieldOf(path: readonly PropertyKey[]): string {
  return path.length === 0 ? "body" : path.map(String).join(".");
}

/** Parses with a schema; on failure, a 400 whose message names every wrong field. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: "body" | "query"): T {
  if (what === "body" && (value === undefined || value === null || typeof value !== "object" || Array.isArray(value))) {
    throw new HttpError(400, "the request body must be a JSON object (Content-Type: application/json)", { fields: ["body"], code: "request-invalid", reason: "body-invalid" });
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const fields: string[] = [];
  const sentences = result.error.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      const keys = issue.keys.map((k) => fieldOf([...issue.path, k]));
      fields.push(...keys);
      return `unknown field${keys.length > 1 ? "s" : ""} ${keys.map((k) => `"${k}"`).join(", ")}`;
    }
    const field = fieldOf(issue.path);
    fields.push(field);
    return `field "${field}": ${issue.message}`;
  });
  throw new HttpError(400, `invalid ${what}: ${sentences.join("; ")}`, { fields, code: "request-invalid", reason: "body-invalid" });
}
