import { fstatSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { isExpectedFailure } from "../contract/expectedFailure.js";
import { lazyAction } from "./lazyAction.js";
import { writeStdout } from "./writeStdout.js";

/**
 * The CLI's grammar. Every action is loaded when its command runs (lazyAction): this module and
 * the register* modules import commander and nothing of the engine.
 * Exit codes: 0 done, 1 the run failed, 2 the request was wrong (bad file, graph, parameter, id).
 */
const program = new Command()
  .name("pipebook")
  .description("Build ML pipelines, rerun only what changed, see why.")
  .showHelpAfterError()
  .exitOverride();
// Help goes to stdout without making process.stdout (writeStdout): only a terminal needs it, for
// its width and colours. Elsewhere commander's defaults are 80 columns, and no colours to keep
// (pipebook's help has none). Commands defined below inherit this.
const output = program.configureOutput();
program.configureOutput({
  writeOut: writeStdout,
  getOutHelpWidth: () => (stdoutMayBeTerminal() ? output.getOutHelpWidth!() : 80),
  getOutHasColors: () => (stdoutMayBeTerminal() ? output.getOutHasColors!() : false),
});

/**
 * Whether stdout is a character device: a terminal, or /dev/null, where asking process.stdout
 * does no harm. Not tty.isatty: node:tty loads net and Node's streams.
 */
function stdoutMayBeTerminal(): boolean {
  try {
    return fstatSync(1).isCharacterDevice();
  } catch {
    return false;
  }
}

const inspect = (): Promise<typeof import("./inspectCommands.js")> => import("./inspectCommands.js");

const runCommand = lazyAction(() => import("./runCommand.js"), "runCommand");

/**
 * `pipebook run`. A run that will run its steps boots the local step launcher (a Node process,
 * and its namespace probe) first, while the run's own modules and the pipeline file load: begun
 * in runCommand's body, it came after those modules, and the first step waited for the rest.
 */
const runAction: typeof runCommand = (...args) => {
  if (args[1].regenerate) void import("../compute/StepLauncher.js").then((m) => m.warmSharedLauncher());
  return runCommand(...args);
};

function registerCoreCommands(program: Command): void {
  program
    .command("run")
    .description("submit the pipeline a .ts/.js file exports and stream its progress")
    .argument("<file>", "file exporting a Pipeline (default export or `pipeline`)")
    .option("-e, --experiment <name>", "experiment to group the run under (default: the file's `experiment` export or its name)")
    .option("-p, --param <name=value...>", "parameter assignment, repeatable")
    .option("--regenerate", "run every step even if an identical earlier result exists")
    .option("-j, --concurrency <n>", "steps running at once", (v) => Number(v))
    .option("-q, --quiet", "print step status only, not step logs")
    .action(runAction);

  program
    .command("cancel")
    .description("cancel a run in flight: its steps are stopped and it ends canceled (whichever process runs it)")
    .argument("<run>", "run id or unique prefix")
    .action(lazyAction(() => import("./cancelCommand.js"), "cancelCommand"));
  program.command("runs").description("list recent runs").option("-e, --experiment <name>").option("-n, --limit <n>", "how many", (v) => Number(v), 20).action(lazyAction(inspect, "runsCommand"));
  program.command("show").description("a run's steps, status, reuse and metrics").argument("<run>", "run id or unique prefix").action(lazyAction(inspect, "showCommand"));
  program.command("logs").description("print a run's step logs").argument("<run>").argument("[step]").action(lazyAction(inspect, "logsCommand"));
  program.command("why").description("why a step ran or was reused: which part of its key changed").argument("<run>").argument("<step>").action(lazyAction(inspect, "whyCommand"));
  program
    .command("download")
    .description("copy a run's outputs here: DIR/<step>/<output>/… (from a server over its blob routes: only missing files move)")
    .argument("<run>", "run id or unique prefix")
    .argument("[step]", "only this step's outputs")
    .option("--output <name>", "only outputs of this name")
    .option("--out <dir>", "where to put them (default: a folder named by the run id)")
    .action(lazyAction(() => import("./downloadCommand.js"), "downloadCommand"));
  program
    .command("gc")
    .description("remove intermediate data that no run needs (outputs of failed steps, working copies)")
    .option("--dry-run", "list what would be removed, remove nothing")
    .option("--older-than <days>", "also remove outputs used only by runs older than this", (v) => Number(v))
    .action(lazyAction(() => import("./gcCommand.js"), "gcCommand"));
}

/**
 * The command groups by the top-level names they define. A command line naming one gets only
 * that group's grammar (making commander's ~30 command objects is a good part of a short
 * command's time); help, a bare `pipebook` or an unknown name get all of it.
 */
const GROUPS: readonly { readonly names: readonly string[]; readonly load: () => Promise<(program: Command) => void> }[] = [
  { names: ["run", "cancel", "runs", "show", "logs", "why", "download", "gc"], load: () => Promise.resolve(registerCoreCommands) },
  { names: ["datasets", "datastores"], load: async () => (await import("./datasetCommands.js")).registerDatasetCommands },
  { names: ["modules", "snapshot"], load: async () => (await import("./moduleCommands.js")).registerModuleCommands },
  { names: ["kernel", "lab"], load: async () => (await import("./integrationCommands.js")).registerIntegrationCommands },
  { names: ["agent", "agents"], load: async () => (await import("./agentCommands.js")).registerAgentCommands },
  { names: ["serve", "publish", "pipelines", "endpoints", "token", "schedule"], load: async () => (await import("./publishingCommands.js")).registerPublishingCommands },
];

/**
 * Builds the grammar the command line needs and runs it. A function called below rather than
 * top-level await: the CLI bundle (engine/scripts/buildCli.mjs) is CommonJS, which has none.
 */
async function main(): Promise<void> {
  const named = process.argv[2];
  const group = GROUPS.find((g) => named !== undefined && g.names.includes(named));
  for (const register of await Promise.all((group ? [group] : GROUPS).map((g) => g.load()))) register(program);
  await program.parseAsync(process.argv);
}

main().catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  if (isExpectedFailure(err)) {
    process.stderr.write(`pipebook: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`pipebook: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(3);
});
