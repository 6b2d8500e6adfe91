// The bench's text output, in both of its modes: a table whose first two columns read left to
// right and whose figures line up on the right.

export function benchTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** 0.11 → "11%". */
export const pct = (share: number) => `${+(share * 100).toFixed(1)}%`;
