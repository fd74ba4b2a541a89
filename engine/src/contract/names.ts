/**
 * Name rules every surface checks the same way (the engine, REST, the lab's publish dialog):
 * published names and versions go into URLs (`/endpoints/{name}/runs`), so they are URL-safe.
 */
export const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
export const EXPERIMENT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

export const NAME_RULE = "1–64 letters, digits, _ . - starting with a letter";

/** A step's name (the DSL, `%%step NAME`): it names the step's folders and log files. */
export const STEP_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
export const STEP_NAME_RULE = "must start with a letter or _ and hold only letters, digits, _ . -";
export const VERSION_RULE = "1–32 letters, digits, _ . - starting with a letter or digit";

/** Why `value` cannot be a published name, or undefined when it can. */
export function nameProblem(value: string): string | undefined {
  return NAME_PATTERN.test(value) ? undefined : `"${value}" must be ${NAME_RULE}`;
}

/** Why `value` cannot be a version, or undefined when it can. */
export function versionProblem(value: string): string | undefined {
  return VERSION_PATTERN.test(value) ? undefined : `"${value}" must be ${VERSION_RULE}`;
}
