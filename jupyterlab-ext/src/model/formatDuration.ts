// Durations and run ids are worded once for every surface, in the contract.
export { formatDuration, shortRunId } from "pipebook/contract";
