import { StepError } from "./StepFailure.js";

const DATA_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Data names become environment variable names (`PIPEBOOK_INPUT_<NAME>`) and argument placeholders. */
export function checkDataName(kind: string, name: string): void {
  if (!DATA_NAME.test(name)) {
    throw new StepError({ reason: "data-name-invalid", kind, name });
  }
}
