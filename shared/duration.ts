// Durations in config are strings with one unit ("90s", "60m", "22h", "1d"), held as milliseconds.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
}

export function formatDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  if (rest < 1_000) return `${sign}${rest}ms`;
  if (rest < 60_000) return `${sign}${Math.round(rest / 1_000)}s`;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.round(rest / 60_000);
  if (hours === 0) return `${sign}${minutes}m`;
  return minutes === 0 ? `${sign}${hours}h` : `${sign}${hours}h${minutes}m`;
}
