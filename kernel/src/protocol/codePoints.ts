/**
 * Jupyter counts cursor positions in Unicode code points (protocol 5.2+); JavaScript strings
 * count UTF-16 units. These convert between the two so emoji and astral characters do not shift
 * completions.
 */
export function codePointsToUnits(text: string, cursor: number): number {
  let units = 0;
  let points = 0;
  for (const ch of text) {
    if (points >= cursor) break;
    units += ch.length;
    points++;
  }
  return units;
}

export function unitsToCodePoints(text: string, units: number): number {
  return Array.from(text.slice(0, units)).length;
}
