import { nameProblem, versionProblem } from "../contract/names.js";
import { PublishError } from "./PublishError.js";

export function checkName(field: string, value: string): string {
  const message = nameProblem(value);
  if (message) throw new PublishError({ reason: "invalid", field, message });
  return value;
}

export function checkVersion(field: string, value: string): string {
  const message = versionProblem(value);
  if (message) throw new PublishError({ reason: "invalid", field, message });
  return value;
}
