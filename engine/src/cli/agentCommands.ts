import type { Command } from "commander";
import { lazyAction } from "./lazyAction.js";

const actions = (): Promise<typeof import("./agentActions.js")> => import("./agentActions.js");
const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `pipebook agent` (run one on a GPU machine) and `pipebook agents` (list a workspace's). */
export function registerAgentCommands(program: Command): void {
  program
    .command("agent")
    .description("run steps of a pipebook server on this machine: dials out to the server (no open port), reports its GPUs, runs the jobs it is given")
    .requiredOption("--server <url>", "the server, e.g. http://trainer:8123 (the same URL as its REST API)")
    .option("--token <token>", "a token with the agent scope (pipebook token create --scope agent); default $PIPEBOOK_AGENT_TOKEN")
    .option("--name <name>", "this agent's name, kept across restarts (default: the host name)")
    .option("--labels <k=v>", "a label pools select agents by, e.g. gpu=a100 (repeatable)", collect, [])
    .option("--gpus <which>", "auto (what nvidia-smi lists), none, or indices such as 0,1", "auto")
    .option("--dir <folder>", "where the agent keeps its blob cache and work folders (default ~/.pipebook-agent/<name>)")
    .option("--cache-limit <size>", "the most its blob cache may hold, e.g. 50GiB; past it the blobs used longest ago are removed after each job (default: half of the disk it is on)")
    .action(lazyAction(actions, "agentCommand"));
  program
    .command("agents")
    .description("agents of this workspace's server: status, GPUs (slots) busy or free and what runs on them")
    .action(lazyAction(actions, "agentsCommand"));
}
