import { parameterNameProblem, parameterValueProblem, type ParameterType } from "../contract/parameters.js";
import type { ParameterValue } from "../contract/runView.js";
import { StepError } from "./StepFailure.js";

export type { ParameterType };

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
    const nameProblem = parameterNameProblem(name);
    if (nameProblem) throw new StepError({ reason: "parameter-name-invalid", problem: nameProblem });
    const t = typeof defaultValue;
    if (t !== "string" && t !== "number" && t !== "boolean") {
      throw new StepError({ reason: "parameter-default-type", name, type: t });
    }
    const valueProblem = parameterValueProblem(name, defaultValue);
    if (valueProblem) throw new StepError({ reason: "parameter-default-invalid", problem: valueProblem });
    this.type = t;
  }
}
