import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../shared/duration';

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['60m', 3_600_000],
    ['22h', 79_200_000],
    ['1d', 86_400_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
  ])('parses %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['60', '1 h', 'h', '-5m', '1w', ''])('refuses %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it.each([
    [0, '0ms'],
    [999.4, '999ms'],
    [999.6, '1s'],
    [59_400, '59s'],
    [59_600, '1m'],
    [90 * 60_000, '1h30m'],
    [3 * 3_600_000, '3h'],
    [20 * 3_600_000 - 100, '20h'],
    [19 * 3_600_000 + 59 * 60_000 + 29_000, '19h59m'],
    [-45 * 60_000, '-45m'],
  ])('formats %d ms as %s, rounded to the unit shown', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
