import type { Command } from "commander";
import { lazyAction } from "./lazyAction.js";

const actions = (): Promise<typeof import("./moduleActions.js")> => import("./moduleActions.js");

/** `pipebook modules [NAME]` and `pipebook snapshot RUN STEP [--out DIR]`. */
export function registerModuleCommands(program: Command): void {
  program
    .command("modules")
    .description("modules of the workspace, or every version of one with its state (active, deprecated, disabled)")
    .argument("[name]", "a module's name")
    .action(lazyAction(actions, "modulesCommand"));
  program
    .command("snapshot")
    .description("the code a step of a run ran: its snapshot's files; --out copies them into a folder")
    .argument("<run>", "run id or unique prefix")
    .argument("<step>", "step name")
    .option("--out <dir>", "write the files into DIR (an existing file there is never replaced)")
    .action(lazyAction(actions, "snapshotCommand"));
}
