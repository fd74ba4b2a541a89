import { collectGarbage } from "../artifacts/collectGarbage.js";
import { Workspace } from "../workspace/Workspace.js";
import { bytes } from "./format.js";

/** `pipebook gc [--dry-run] [--older-than DAYS]`: remove intermediate data no run needs. */
export async function gcCommand(options: { dryRun?: boolean; olderThan?: number }): Promise<void> {
  const ws = await Workspace.fromConfig();
  const items = await collectGarbage(ws, { dryRun: options.dryRun ?? false, ...(options.olderThan !== undefined && { olderThanDays: options.olderThan }) });
  const total = items.reduce((n, i) => n + i.bytes, 0);
  for (const i of items) process.stdout.write(`${options.dryRun ? "would remove" : "removed"} ${i.path} (${bytes(i.bytes)}): ${i.why}\n`);
  process.stdout.write(`${options.dryRun ? "would free" : "freed"} ${bytes(total)} in ${items.length} item${items.length === 1 ? "" : "s"}\n`);
}
