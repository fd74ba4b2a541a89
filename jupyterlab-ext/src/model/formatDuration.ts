/**
 * Durations as a person reads them in a node that is 184 px wide: at most two units,
 * fixed decimals, so the text width barely changes while a step runs.
 */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
    return "";
  }
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  const seconds = ms / 1000;
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const totalSeconds = Math.round(seconds);
  const minutes = Math.floor(totalSeconds / 60);
  if (minutes < 60) {
    return `${minutes} m ${String(totalSeconds % 60).padStart(2, "0")} s`;
  }
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${String(minutes % 60).padStart(2, "0")} m`;
}

/**
 * Run ids are long. The engine's ids start with the date (`20261122-113151-13e883`), which is the
 * same for every run of a day, so the short form drops it and keeps time and suffix; other ids
 * keep their first 12 characters.
 */
export function shortRunId(runId: string): string {
  const dated = /^\d{8}-(\d{6}-[0-9a-z]+)$/i.exec(runId);
  if (dated?.[1] !== undefined) {
    return dated[1];
  }
  return runId.length > 12 ? runId.slice(0, 12) : runId;
}
