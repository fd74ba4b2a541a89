import { nameProblem, versionProblem, type PublishCommRequest } from "pipebook/contract";

/** What the user typed in the "Publish pipeline as endpoint" dialog, for the run shown last. */
export type PublishRequest = PublishCommRequest;

export type PublishValidation = { readonly ok: true } | { readonly ok: false; readonly field: "name" | "version"; readonly message: string };

/** The contract's name rules, checked before anything is sent (the engine checks them again). */
export function validatePublish(request: Omit<PublishRequest, "runId">): PublishValidation {
  const name = nameProblem(request.name);
  if (name !== undefined) return { ok: false, field: "name", message: name };
  const version = versionProblem(request.version);
  if (version !== undefined) return { ok: false, field: "version", message: version };
  return { ok: true };
}
