// Pure text formatting for bench output: numbers with fixed precision and a pipe-separated table.

/** Formats a number for the table; '-' for missing (NaN/undefined). */
export function fmt(n: number | undefined, digits = 0): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A markdown-compatible table with padded columns (readable in a terminal and pasteable into docs). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    '| ' + widths.map((w, i) => (cells[i] ?? '').padEnd(w)).join(' | ') + ' |';
  const rule = '| ' + widths.map((w) => '-'.repeat(w)).join(' | ') + ' |';
  return [line(header), rule, ...rows.map(line)].join('\n');
}
