// The benchmark runs (its numbers are for README, not for a test): a size large enough that
// groups must be split under the config's per-group count limit, with no added latency.
import { describe, expect, it } from 'vitest';
import { benchCommand } from '../functions/bench';
import { CapturedStream } from './support/capture';

describe('makemac bench', () => {
  it('runs a fleet of 2,500 leases end to end and prints its row', async () => {
    const stdout = new CapturedStream();
    const stderr = new CapturedStream();
    const code = await benchCommand(['--sizes', '2500', '--latency-ms', '0'], { stdout, stderr, env: {} });
    expect(stderr.text).toBe('');
    expect(code).toBe(0);
    expect(stdout.text).toMatch(/^2,500\s+\d+ \(\d+v \d+c \d+r\)/m);
  }, 60_000);

  it('refuses a bad size with a usage error', async () => {
    const stdout = new CapturedStream();
    const stderr = new CapturedStream();
    expect(await benchCommand(['--sizes', 'lots'], { stdout, stderr, env: {} })).toBe(2);
    expect(stderr.text).toContain('--sizes');
  });
});
