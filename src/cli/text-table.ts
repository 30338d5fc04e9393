/**
 * `rows` under `header` as aligned text columns (two spaces apart, trailing spaces trimmed), one line per row,
 * without a final newline. Every row has as many cells as the header.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return [header, ...rows].map((row) => row.map((text, column) => text.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}
