// RFC 3339 parsing, checked against Date over the whole range the APIs can send.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatTimestamp, parseTimestamp } from '../shared/timestamp';

const YEAR_ONE = new Date(0);
YEAR_ONE.setUTCFullYear(1, 0, 1);

describe('parseTimestamp', () => {
  it('gives the instant Date gives for every millisecond from year 1 to 9999, in any offset', () => {
    fc.assert(
      fc.property(
        fc.date({ min: YEAR_ONE, max: new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)), noInvalidDate: true }),
        fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
        (date, offsetMinutes) => {
          // The same instant written as local time at the offset.
          const local = new Date(date.getTime() + offsetMinutes * 60_000);
          fc.pre(local.getUTCFullYear() >= 1 && local.getUTCFullYear() <= 9999);
          const abs = Math.abs(offsetMinutes);
          const offset = `${offsetMinutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
          expect(parseTimestamp(date.toISOString())).toBe(date.getTime());
          expect(parseTimestamp(local.toISOString().replace('Z', offset))).toBe(date.getTime());
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it.each([
    ['2026-08-02T10:00:00Z', Date.UTC(2026, 7, 2, 10)],
    ['2026-08-02T10:00:41.500Z', Date.UTC(2026, 7, 2, 10, 0, 41, 500)],
    ['2026-08-03T10:00:05.123456Z', Date.UTC(2026, 7, 3, 10, 0, 5, 123)],
    ['2026-08-02T15:30:00+05:30', Date.UTC(2026, 7, 2, 10)],
    ['2026-08-02T05:00:00-05:00', Date.UTC(2026, 7, 2, 10)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['2000-02-29T12:00:00.5Z', Date.UTC(2000, 1, 29, 12, 0, 0, 500)],
    ['2026-08-03T12:00:00.987654321+02:00', Date.UTC(2026, 7, 3, 10, 0, 0, 987)],
    ['0001-01-01T00:00:00Z', Date.UTC(2000, 0, 1) - 63_082_281_600_000],
    ['1969-12-31T23:59:59.999z', -1],
    ['2024-02-29t10:00:00z', Date.UTC(2024, 1, 29, 10)],
    ['2026-08-02T10:00:00.000000001Z', Date.UTC(2026, 7, 2, 10)],
    ['2026-08-02T05:00:00.25-05:00', Date.UTC(2026, 7, 2, 10, 0, 0, 250)],
  ])('reads %s', (text, expected) => {
    expect(parseTimestamp(text)).toBe(expected);
  });

  it.each([
    '2023-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-00-01T00:00:00Z',
    '2026-01-00T00:00:00Z',
    '0000-01-01T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T00:60:00Z',
    '2026-01-01T00:00:60Z',
    '2026-01-01T00:00:00+24:00',
    '2026-01-01T00:00:00+01:60',
    '2026-01-01T00:00:00',
    '2026-01-01 00:00:00Z',
    '2026-01-01T00:00:00.Z',
    '2026-01-01T00:00:00.1234567890Z',
    '2025-02-29T10:00:00Z',
    '',
    '2026-08-02',
    'Sun, 02 Aug 2026 10:00:00 GMT',
  ])('refuses %j', (text) => {
    expect(parseTimestamp(text)).toBeNull();
  });

  it('reads years before 100 without the Date.UTC century shift', () => {
    expect(new Date(parseTimestamp('0050-01-01T00:00:00Z')!).getUTCFullYear()).toBe(50);
  });

  it('reads back what formatTimestamp writes', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: Date.UTC(9999, 0, 1) }), (ms) => parseTimestamp(formatTimestamp(ms)) === ms));
  });
});
