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

  it('out of process: runs the compiled makemac against fakes in a child process and prints start-up and pass rows', async () => {
    const stdout = new CapturedStream();
    const stderr = new CapturedStream();
    const code = await benchCommand(['--out-of-process', '--sizes', '300', '--latency-ms', '0', '--concurrency', '4', '--action-fraction', '0.2'], { stdout, stderr, env: {} });
    expect(stderr.text).toBe('');
    expect(code).toBe(0);
    expect(stdout.text).toMatch(/^makemac --help\s+\d+\.\d\d s\s+\d+\.\d×\s+\d+ MiB$/m);
    expect(stdout.text).toMatch(/^300\s+\d+ \(\d+v \d+c \d+r\)\s+0\.00 s\s+\d+\.\d\d s\s+—\s+\d+\.\d\d s\s+\d+ MiB\s+ok$/m);
  }, 60_000);

  it.each([
    [['--sizes', 'lots'], '--sizes'],
    [['--sizes', '60000'], '--sizes'],
    [['--concurrency', '0'], '--concurrency'],
    [['--action-fraction', '0.9'], '--action-fraction'],
    [['--real-size-metadata'], '--out-of-process'],
  ])('refuses %j with a usage error', async (args, named) => {
    const stdout = new CapturedStream();
    const stderr = new CapturedStream();
    expect(await benchCommand(args, { stdout, stderr, env: {} })).toBe(2);
    expect(stderr.text).toContain(named);
  });

  it('refuses a bad size with a usage error', async () => {
    const stdout = new CapturedStream();
    const stderr = new CapturedStream();
    expect(await benchCommand(['--sizes', 'lots'], { stdout, stderr, env: {} })).toBe(2);
    expect(stderr.text).toContain('--sizes');
  });
});
