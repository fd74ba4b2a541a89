import type { Command } from "commander";
import { SCOPES } from "../auth/scopes.js";
import { lazyAction } from "./lazyAction.js";

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
type Actions = typeof import("./publishingActions.js");
const load = (): Promise<Actions> => import("./publishingActions.js");
const act = <K extends keyof Actions & string>(name: K): ((...args: Parameters<Actions[K]>) => Promise<void>) => lazyAction(load, name);

/** The grammar of serve, publish, pipelines, endpoints, token and schedule; what they do is in publishingActions.ts. */
export function registerPublishingCommands(program: Command): void {
  program
    .command("serve")
    .description("REST server, live run streams, web page and schedules for the workspace in this folder")
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--port <port>", "port to listen on (0: any free port)", (v) => Number(v), 8765)
    .option("--token <token>", "accept this bearer token with every scope (held in memory only; repeatable)", collect, [])
    .option("--cors-origin <origin>", "let browser pages from this origin call the API (repeatable)", collect, [])
    .option("--max-running-runs <n>", "runs executed at once; later ones wait in the queue", (v) => Number(v), 4)
    .option("--max-queued-runs <n>", "runs that may wait; over it POSTs get 429 with Retry-After", (v) => Number(v), 256)
    .option("--no-schedules", "do not fire schedules and triggers (another server does)")
    .action(act("serve"));

  program
    .command("publish")
    .description("publish a run's pipeline (spec and snapshots) under a name and version, optionally behind an endpoint")
    .argument("<run>", "run id or unique prefix")
    .requiredOption("--name <name>", "published pipeline name")
    .option("--version <version>", "version label", "1.0")
    .option("--description <text>", "description", "")
    .option("--endpoint <name>", "also put it behind this endpoint (new endpoint, or its next default version)")
    .action(act("publish"));

  const pipelines = program.command("pipelines").description("published pipelines");
  pipelines
    .command("list", { isDefault: true })
    .description("list published pipelines (disabled ones with --all)")
    .option("--all", "include disabled pipelines")
    .action(act("listPipelines"));
  for (const verb of ["disable", "enable"] as const) {
    pipelines
      .command(verb)
      .description(verb === "disable" ? "hide a published pipeline and refuse its runs" : "enable a published pipeline again")
      .argument("<id>")
      .action((id: string) => act("setPipelineEnabled")(verb, id));
  }
  pipelines
    .command("run")
    .description("run a published pipeline here and stream its progress")
    .argument("<id>")
    .requiredOption("-e, --experiment <name>", "experiment")
    .option("-p, --param <name=value>", "parameter assignment, repeatable", collect, [])
    .action(act("runPipeline"));

  const endpoints = program.command("endpoints").description("versioned pipeline endpoints");
  endpoints
    .command("list", { isDefault: true })
    .description("list endpoints with their versions and default")
    .action(act("listEndpoints"));
  endpoints
    .command("add")
    .description("add a published pipeline as the endpoint's next version (creates the endpoint if new)")
    .argument("<name>")
    .argument("<pipeline-id>")
    .option("--default", "make it the default version")
    .action(act("addEndpointVersion"));
  endpoints
    .command("set-default")
    .description("change which version callers get when they name none")
    .argument("<name>")
    .argument("<version>")
    .action(act("setEndpointDefault"));
  endpoints
    .command("run")
    .description("run an endpoint's default (or named) version here and stream its progress")
    .argument("<name>")
    .requiredOption("-e, --experiment <name>", "experiment")
    .option("--version <version>", "endpoint version (default: the endpoint's default)")
    .option("-p, --param <name=value>", "parameter assignment, repeatable", collect, [])
    .action(act("runEndpoint"));

  const token = program.command("token").description("API tokens for pipebook serve (stored hashed)");
  token
    .command("create")
    .description(`create a token and print it once; scopes: ${SCOPES.join(", ")}`)
    .requiredOption("--name <name>", "what the token is for")
    .option("--scope <scope>", "scope, repeatable (default: read and runs:submit)", collect, [])
    .action(act("createToken"));
  token
    .command("list")
    .description("list tokens (never their secrets)")
    .action(act("listTokens"));
  token
    .command("revoke")
    .description("revoke a token; a running server refuses it at once")
    .argument("<id>")
    .action(act("revokeToken"));

  const schedule = program.command("schedule").description("run published pipelines on a cron schedule or when data changes (fired by pipebook serve)");
  schedule
    .command("create")
    .description("create a schedule for a published pipeline or an endpoint")
    .requiredOption("--name <name>", "schedule name")
    .option("--pipeline <id>", "published pipeline to run")
    .option("--endpoint <name>", "endpoint to run (its default version unless --version)")
    .option("--version <version>", "endpoint version")
    .requiredOption("-e, --experiment <name>", "experiment for the runs")
    .option("--cron <expression>", 'cron expression, 5 fields or 6 with seconds ("0 3 * * *")')
    .option("--timezone <tz>", "IANA time zone for --cron (default: the server's)")
    .option("--watch <datastore:path>", "run when this datastore path changes")
    .option("--poll <seconds>", "how often to look at a watched path", (v) => Number(v), 10)
    .option("-p, --param <name=value>", "parameter assignment, repeatable", collect, [])
    .action(act("createSchedule"));
  schedule
    .command("list", { isDefault: true })
    .description("list schedules")
    .action(act("listSchedules"));
  for (const verb of ["disable", "enable"] as const) {
    schedule
      .command(verb)
      .description(verb === "disable" ? "stop a schedule from firing" : "let a schedule fire again (from now on)")
      .argument("<id>")
      .action((id: string) => act("setScheduleEnabled")(verb, id));
  }
  schedule
    .command("events")
    .description("what a schedule did: runs fired, ticks missed while no server ran, failures")
    .argument("<id>")
    .action(act("scheduleEvents"));
}
