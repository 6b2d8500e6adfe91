// `makemac check`: validation and secret resolution, without a pass and without printing a secret.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../functions/cli';
import { CapturedStream } from './support/capture';
import { SECRET_ENV, SECRETS, startFakeFleet } from './support/fake-fleet';

const dir = mkdtempSync(join(tmpdir(), 'makemac-check-'));

async function check(args: string[], document: unknown, env: Record<string, string> = SECRET_ENV) {
  const file = join(dir, 'config.json');
  writeFileSync(file, typeof document === 'string' ? document : JSON.stringify(document));
  const stdout = new CapturedStream();
  const stderr = new CapturedStream();
  const code = await main(['check', '--config', file, ...args], { stdout, stderr, env });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

let template: unknown;
beforeAll(async () => {
  const fleet = await startFakeFleet();
  await fleet.close();
  template = fleet.configDocument();
});

/** A config of the fake fleet, a fresh copy for each test to change. */
async function fleetDocument(): Promise<any> {
  return structuredClone(template);
}

describe('makemac check', () => {
  it('summarises a valid config and exits 0', async () => {
    const { code, stdout, stderr } = await check([], await fleetDocument());
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^config OK \(.*config\.json\): 2 swarming hosts, 3 groups, 6 leases wanted; customer golang; dry run off\.$/m);
    expect(stdout).toMatch(/^ {2}chromium-swarm\.appspot\.com \(pool luci\.golang\.shared-workers\): darwin-amd64-14 ×3, darwin-arm64-15 ×2$/m);
  });

  it('exits 2 naming the field of a bad config, and the key given twice', async () => {
    const document = await fleetDocument();
    document.swarming[1].groups[0].count = 5000;
    const bad = await check([], document);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('swarming[1].groups[0].count: must be a whole number from 0 to 1000');
    expect(bad.stdout).toBe('');

    const twice = await check([], JSON.stringify(await fleetDocument()).replace('"dryRun"', '"x"').replace('{"macService"', '{"dryRun":true,"dryRun":false,"macService"'));
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('(document): duplicate key "dryRun"');
  });

  it('with --resolve reads every secret through the real resolver, printing none', async () => {
    const { code, stdout, stderr } = await check(['--resolve'], await fleetDocument());
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain('secrets: 7 fields, 3 distinct references, all read (values not shown).');
    for (const secret of Object.values(SECRETS)) expect(stdout).not.toContain(secret);
  });

  it('with --resolve exits 1 naming each field whose secret cannot be read', async () => {
    const document = await fleetDocument();
    document.swarming[0].groups[1].key = 'secret:makemac-test/no-such-key';
    // No credentials for Secret Manager here, for sure.
    vi.stubEnv('GOOGLE_APPLICATION_CREDENTIALS', join(dir, 'no-such-credentials.json'));
    const failed = await check(['--resolve'], document);
    vi.unstubAllEnvs();
    expect(failed.stdout).toContain('config OK');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^makemac check: cannot read swarming\[0\]\.groups\[1\]\.key: secret:makemac-test\/no-such-key: /m);
    expect(failed.stderr.split('\n').filter((l) => l.startsWith('makemac check: cannot read'))).toHaveLength(1);
    for (const secret of Object.values(SECRETS)) expect(failed.stdout + failed.stderr).not.toContain(secret);
  });

  it('refuses stray arguments with its usage, and prints it for --help', async () => {
    const stray = await check(['extra'], await fleetDocument());
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('usage: makemac check');
    const help = await check(['--help'], await fleetDocument());
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--resolve');
  });
});
