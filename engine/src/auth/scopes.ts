/**
 * What a token may do. `read`: list and look at pipelines, endpoints, runs, logs, outputs.
 * `runs:submit`: start runs of published pipelines and endpoints. `publish`: publish runs,
 * change endpoint defaults, enable/disable pipelines and schedules. `agent`: a `pipebook agent`
 * takes and reports jobs and moves the blobs of the jobs it is given, and nothing else (it reads
 * no runs, submits and publishes nothing). `admin`: everything.
 */
export const SCOPES = ["read", "runs:submit", "publish", "agent", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

export function hasScope(granted: readonly Scope[], needed: Scope): boolean {
  return granted.includes("admin") || granted.includes(needed);
}
