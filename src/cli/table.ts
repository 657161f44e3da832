/** What kubectl prints in a cell that has no value. */
export const NONE = '<none>';
const COLUMN_GAP = 3;

/**
 * Renders rows under upper-case headers, columns left-aligned and three spaces apart, like
 * `kubectl get`: the last column is not padded, so lines carry no trailing spaces.
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = [headers.map((h) => h.toUpperCase()), ...rows.map((row) => headers.map((_, i) => row[i] || NONE))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const lines = cells.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]! + COLUMN_GAP))).join(''),
  );
  return `${lines.join('\n')}\n`;
}
