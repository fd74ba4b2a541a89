import type { RunView } from "pipebook/contract";
import { isTerminalRunStatus, observeSubmissions, type RunHandle } from "pipebook/contract";
import type { DisplayPublisher } from "./displayApi.js";
import { runBundle } from "./runBundle.js";
import { log } from "../log.js";

/** What the kernel needs of a submitted run (pipebook/contract), from whichever copy of pipebook. */
export type RunLike = RunHandle;

export function displayIdFor(runId: string): string {
  return `pipebook-run-${runId}`;
}

/** Displays of runs not yet shown in a final state. */
const live = new Map<string, { run: RunLike; sendLatest: () => Promise<void> }>();

/**
 * Before a cell's reply: a run that ended during the cell gets its final view sent now, so the
 * saved notebook (nbconvert) holds the end state, not the last coalesced update before it.
 */
export async function settleLiveDisplays(): Promise<void> {
  const ended = [...live.values()].filter((l) => isTerminalRunStatus(l.run.status));
  // Bounded: a slow store must not hold the cell's reply back for long.
  await Promise.race([Promise.all(ended.map((l) => l.sendLatest())), new Promise((r) => setTimeout(r, 2000).unref())]);
}

/**
 * Shows every run submitted in this kernel as a live display: `display_data` at submit, then
 * `update_display_data` with the same display id whenever the view changes (the engine coalesces
 * changes to one per 100 ms and always sends the final view). Registers on the contract's
 * submission registry, so the kernel need not load pipebook before a cell does.
 */
export function watchSubmissions(pub: DisplayPublisher): () => void {
  return observeSubmissions((run) => { showLive(run, pub); });
}

export function showLive(run: RunLike, pub: DisplayPublisher): void {
  const id = displayIdFor(run.id);
  let last = "";
  let shown = false;
  let chain: Promise<void> = Promise.resolve();
  const send = (view: RunView): void => {
    const json = JSON.stringify(view);
    if (json === last) return;
    last = json;
    if (!shown) { shown = true; pub.display(runBundle(view), {}, id); } else pub.update(runBundle(view), {}, id);
    if (isTerminalRunStatus(view.status)) { off(); live.delete(run.id); }
  };
  const fetchAndSend = (): Promise<void> => Promise.resolve(run.view()).then(send, (e: unknown) => log("display", `run ${run.id}: ${String(e)}`));
  // Views are sent in order: the first (from view()) before any update.
  const off = run.onUpdate((v) => { chain = chain.then(() => send(v)); });
  chain = fetchAndSend();
  live.set(run.id, { run, sendLatest: () => (chain = chain.then(fetchAndSend)) });
}
