import { Command, CommanderError } from "commander";
import { PipebookError } from "../errors/PipebookError.js";
import { registerDatasetCommands } from "./datasetCommands.js";
import { runCommand } from "./runCommand.js";
import { registerIntegrationCommands } from "./integrationCommands.js";
import { registerPublishingCommands } from "./publishingCommands.js";
import { gcCommand, logsCommand, runsCommand, showCommand, whyCommand } from "./inspectCommands.js";

/** Exit codes: 0 done, 1 the run failed, 2 the request was wrong (bad file, graph, parameter, id). */
const program = new Command()
  .name("pipebook")
  .description("Build ML pipelines, rerun only what changed, see why.")
  .showHelpAfterError()
  .exitOverride();

program
  .command("run")
  .description("submit the pipeline a .ts/.js file exports and stream its progress")
  .argument("<file>", "file exporting a Pipeline (default export or `pipeline`)")
  .option("-e, --experiment <name>", "experiment to group the run under (default: the file's `experiment` export or its name)")
  .option("-p, --param <name=value...>", "parameter assignment, repeatable")
  .option("--regenerate", "run every step even if an identical earlier result exists")
  .option("-j, --concurrency <n>", "steps running at once", (v) => Number(v))
  .option("-q, --quiet", "print step status only, not step logs")
  .action(runCommand);

program.command("runs").description("list recent runs").option("-e, --experiment <name>").option("-n, --limit <n>", "how many", (v) => Number(v), 20).action(runsCommand);
program.command("show").description("a run's steps, status, reuse and metrics").argument("<run>", "run id or unique prefix").action(showCommand);
program.command("logs").description("print a run's step logs").argument("<run>").argument("[step]").action(logsCommand);
program.command("why").description("why a step ran or was reused: which part of its key changed").argument("<run>").argument("<step>").action(whyCommand);
program
  .command("gc")
  .description("remove intermediate data that no run needs (outputs of failed steps, working copies)")
  .option("--dry-run", "list what would be removed, remove nothing")
  .option("--older-than <days>", "also remove outputs used only by runs older than this", (v) => Number(v))
  .action(gcCommand);

registerDatasetCommands(program);
registerIntegrationCommands(program);
registerPublishingCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  if (err instanceof PipebookError) {
    process.stderr.write(`pipebook: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`pipebook: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(3);
}
