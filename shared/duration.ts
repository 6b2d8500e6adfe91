// Durations in config are strings with one unit ("90s", "60m", "22h", "1d"), held as milliseconds.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
}

/** Readable, rounded to the unit shown: "850ms", "42s", "7m", "3h", "19h5m". */
export function formatDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  if (abs < 999.5) return `${sign}${Math.round(abs)}ms`;
  // Round before splitting into units, or 59.6s would print as "60s" and 19h59m59s as "19h60m".
  if (abs < 59_500) return `${sign}${Math.round(abs / 1_000)}s`;
  const totalMinutes = Math.round(abs / 60_000);
  const hours = Math.floor(totalMinutes / 60);
  const minutes = totalMinutes % 60;
  if (hours === 0) return `${sign}${minutes}m`;
  return minutes === 0 ? `${sign}${hours}h` : `${sign}${hours}h${minutes}m`;
}
