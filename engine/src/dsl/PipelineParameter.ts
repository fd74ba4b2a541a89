import type { ParameterValue } from "../contract/runView.js";

export type ParameterType = "string" | "number" | "boolean";

/**
 * A value chosen at submit time (or per REST call), typed by its default: an assignment of
 * another type is refused at submit with the parameter's name, never coerced silently.
 */
export class PipelineParameter<T extends ParameterValue = ParameterValue> {
  readonly type: ParameterType;

  constructor(
    readonly name: string,
    readonly defaultValue: T,
  ) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new TypeError(`PipelineParameter name "${name}" must be an identifier (letters, digits, _)`);
    }
    const t = typeof defaultValue;
    if (t !== "string" && t !== "number" && t !== "boolean") {
      throw new TypeError(`PipelineParameter "${name}": default value must be a string, number or boolean, got ${t}`);
    }
    if (t === "number" && !Number.isFinite(defaultValue as number)) {
      throw new TypeError(`PipelineParameter "${name}": default value must be a finite number`);
    }
    this.type = t;
  }
}
