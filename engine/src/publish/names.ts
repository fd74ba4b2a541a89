import { PublishError } from "./PublishError.js";

/** Names go into URLs (`/endpoints/{name}/runs`), so they are limited to URL-safe characters. */
export const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
export const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
/** The same rule as `Experiment`'s constructor. */
export const EXPERIMENT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

export function checkName(field: string, value: string): string {
  if (!NAME_PATTERN.test(value)) {
    throw new PublishError({ reason: "invalid", field, message: `"${value}" must be 1–64 letters, digits, _ . - starting with a letter` });
  }
  return value;
}

export function checkVersion(field: string, value: string): string {
  if (!VERSION_PATTERN.test(value)) {
    throw new PublishError({ reason: "invalid", field, message: `"${value}" must be 1–32 letters, digits, _ . - starting with a letter or digit` });
  }
  return value;
}
