import { FailureError, unreachable, type PipebookErrorCode } from "../errors/PipebookError.js";

/**
 * Expected failures of the CLI's own commands, as data; `describeCliFailure` words them. What a
 * command's arguments name (a run by id or prefix, a step of it) and the options it is given.
 * Failures of the subsystems a command calls keep their own unions (a pipeline file's are
 * `PipelineFileFailure`, a dataset's `DatasetFailure`...).
 */
export type CliFailure =
  // What the arguments name.
  | { readonly reason: "run-unknown"; readonly idOrPrefix: string; readonly workspace: string }
  | { readonly reason: "run-ambiguous"; readonly idOrPrefix: string; readonly matches: readonly string[] }
  | { readonly reason: "step-unknown"; readonly runId: string; readonly step: string; readonly steps: readonly string[] }
  /** `status` is the run's end status as the store has it now (undefined: not ended yet after all). */
  | { readonly reason: "run-ended"; readonly runId: string; readonly status: string | undefined }
  | { readonly reason: "snapshot-none"; readonly runId: string; readonly step: string }
  | { readonly reason: "profile-needs-name" }
  | { readonly reason: "dataset-not-tabular"; readonly name: string }
  /** The kernel or lab extension package cannot be imported; `problem` is the first line of the import's error. */
  | { readonly reason: "integration-missing"; readonly what: string; readonly specifier: string; readonly problem: string }
  // `pipebook agent`.
  | { readonly reason: "agent-token-missing" }
  | { readonly reason: "agent-server-invalid"; readonly server: string }
  | { readonly reason: "agent-name-invalid"; readonly name: string }
  | { readonly reason: "agent-label-invalid"; readonly label: string }
  | { readonly reason: "agent-gpus-invalid"; readonly gpus: string }
  | { readonly reason: "agent-cache-limit-invalid"; readonly limit: string }
  // `pipebook serve`, `token`, `schedule`.
  | { readonly reason: "port-invalid"; readonly port: number }
  | { readonly reason: "count-invalid"; readonly flag: string }
  | { readonly reason: "port-in-use"; readonly port: number; readonly host: string }
  | { readonly reason: "host-unknown"; readonly host: string }
  | { readonly reason: "scope-unknown"; readonly scopes: readonly string[]; readonly known: readonly string[] }
  /** Exactly one of two options must be given (each as the user writes it, `--cron EXPRESSION`). */
  | { readonly reason: "one-of"; readonly options: readonly [string, string] }
  | { readonly reason: "watch-invalid"; readonly watch: string };

export class CliError extends FailureError<CliFailure> {
  constructor(failure: CliFailure) {
    super(cliFailureCode(failure), failure, describeCliFailure(failure));
  }
}

function cliFailureCode(f: CliFailure): PipebookErrorCode {
  switch (f.reason) {
    case "run-unknown":
    case "run-ambiguous":
    case "step-unknown":
    case "run-ended":
    case "snapshot-none":
    case "integration-missing":
      return "not-found";
    case "profile-needs-name":
    case "dataset-not-tabular":
      return "dataset-invalid";
    case "agent-token-missing":
    case "agent-server-invalid":
    case "agent-name-invalid":
    case "agent-label-invalid":
    case "agent-gpus-invalid":
    case "agent-cache-limit-invalid":
    case "port-invalid":
    case "count-invalid":
    case "port-in-use":
    case "host-unknown":
    case "scope-unknown":
    case "one-of":
    case "watch-invalid":
      return "config-invalid";
    default:
      return unreachable(f);
  }
}

export function describeCliFailure(f: CliFailure): string {
  switch (f.reason) {
    case "run-unknown":
      return `no run ${f.idOrPrefix} in workspace ${f.workspace} (see: pipebook runs)`;
    case "run-ambiguous":
      return `"${f.idOrPrefix}" matches several runs: ${f.matches.join(", ")}`;
    case "step-unknown":
      return `run ${f.runId} has no step "${f.step}" (steps: ${f.steps.join(", ")})`;
    case "run-ended":
      return `run ${f.runId} already ended ${f.status ?? "?"}; there is nothing to cancel`;
    case "snapshot-none":
      return `step "${f.step}" of run ${f.runId} has no source folder, so no snapshot (its command line is its code)`;
    case "profile-needs-name":
      return "--profile needs a dataset name";
    case "dataset-not-tabular":
      return `dataset "${f.name}" holds files, not a table: only tabular datasets have a profile`;
    case "integration-missing":
      return `${f.what} is not installed or not built (${f.specifier}): ${f.problem}`;
    case "agent-token-missing":
      return "pipebook agent needs a token with the agent scope: --token T or PIPEBOOK_AGENT_TOKEN (made by pipebook token create --name NAME --scope agent on the server's workspace)";
    case "agent-server-invalid":
      return `--server ${f.server} is not an http(s) URL such as http://trainer:8123`;
    case "agent-name-invalid":
      return `agent name "${f.name}" must be letters, digits, '_', '.' or '-' (at most 64)`;
    case "agent-label-invalid":
      return `--labels ${f.label} is not key=value (e.g. gpu=a100)`;
    case "agent-gpus-invalid":
      return `--gpus takes auto, none or GPU indices such as 0,1 (got "${f.gpus}")`;
    case "agent-cache-limit-invalid":
      return `--cache-limit takes a size such as 50GiB, 500MiB or 2T (got "${f.limit}")`;
    case "port-invalid":
      return `--port must be 0–65535, got ${f.port}`;
    case "count-invalid":
      return `${f.flag} must be a whole number ≥ 1`;
    case "port-in-use":
      return `port ${f.port} on ${f.host} is in use; choose another with --port`;
    case "host-unknown":
      return `cannot listen on ${f.host}: no such address on this machine`;
    case "scope-unknown":
      return `unknown scope ${f.scopes.join(", ")} (scopes: ${f.known.join(", ")})`;
    case "one-of":
      return `give exactly one of ${f.options[0]} or ${f.options[1]}`;
    case "watch-invalid":
      return `--watch must look like DATASTORE:PATH, e.g. workspaceblobstore:incoming`;
    default:
      return unreachable(f);
  }
}
