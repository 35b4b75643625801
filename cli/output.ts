/** Plain-text tables for people and `--json` for scripts: every command prints one or the other. */

export type Cell = string | number | boolean | null | undefined;

function text(value: Cell): string {
  if (value === null || value === undefined || value === '') return '-';
  return String(value).replace(/\s+/g, ' ');
}

/** Columns padded to their widest cell; a header line in capitals. */
export function table(rows: Array<Record<string, Cell>>, columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((row) => columns.map((column) => text(row[column])));
  const headers = columns.map((c) => c.toUpperCase());
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!))).join('  ');
  return [line(headers), ...cells.map(line)].join('\n');
}

/** Label: value lines, for one record. */
export function fields(record: Record<string, Cell>): string {
  const width = Math.max(...Object.keys(record).map((k) => k.length));
  return Object.entries(record)
    .map(([label, value]) => `${`${label}:`.padEnd(width + 1)} ${text(value)}`)
    .join('\n');
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
