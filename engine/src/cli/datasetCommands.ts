import type { Command } from "commander";
import { lazyAction } from "./lazyAction.js";

/** `pipebook datasets [NAME] [--version N] [--profile]`: registered datasets, their versions, a profile. */
export function registerDatasetCommands(program: Command): void {
  program
    .command("datasets")
    .description("registered datasets (latest versions), or every version of one; --profile summarizes a tabular one")
    .argument("[name]", "a dataset's name")
    .option("--version <n>", "a version of NAME (default: the latest)", (v) => Number(v))
    .option("--profile", "column types, missing values, ranges and most common values of NAME")
    .action(lazyAction(() => import("./datasetActions.js"), "datasetsCommand"));
  program
    .command("datastores")
    .description("the workspace's datastores: kind, where, credential variable, which is the default (docs/datastores.md)")
    .action(lazyAction(() => import("./datasetActions.js"), "datastoresCommand"));
}
