import { FailureError, unreachable, type PipebookErrorCode } from "../errors/PipebookError.js";

/** Expected failures of starting and running an agent (`pipebook agent`), as data; `describeAgentFailure` words them. */
export type AgentFailure =
  /** `--gpus` names indices nvidia-smi (or PIPEBOOK_GPUS) does not list; `has` is what it lists. */
  | { readonly reason: "gpus-unknown"; readonly unknown: readonly number[]; readonly has: readonly number[] }
  /** The server closed the connection for good (a bad token, a refused hello); `why` is the close reason it gave. */
  | { readonly reason: "refused"; readonly server: string; readonly agent: string; readonly why: string };

export class AgentError extends FailureError<AgentFailure> {
  constructor(failure: AgentFailure) {
    super(agentFailureCode(failure), failure, describeAgentFailure(failure));
  }
}

function agentFailureCode(f: AgentFailure): PipebookErrorCode {
  switch (f.reason) {
    case "gpus-unknown":
    case "refused":
      return "config-invalid";
    default:
      return unreachable(f);
  }
}

export function describeAgentFailure(f: AgentFailure): string {
  switch (f.reason) {
    case "gpus-unknown":
      return `--gpus names GPU ${f.unknown.join(", ")}, which this machine does not have (it has ${f.has.length === 0 ? "none" : f.has.join(", ")}; PIPEBOOK_GPUS=0,1 stands in GPUs for a test)`;
    case "refused":
      return `${f.server} refused agent ${f.agent}: ${f.why}`;
    default:
      return unreachable(f);
  }
}
