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
