// The command users run: package.json's `bin`, compiled by `npm ci`, started as a process of its
// own with plain node — no TypeScript tooling at run time — against the fakes over loopback.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IMAGE_14, PUBLIC_HOST, SECRET_ENV, startFakeFleet, type FakeFleet } from './support/fake-fleet';
import { MAKEMAC as BIN, ROOT, runCli } from './support/run-cli';

/** Plain node on the bin, in an environment with nothing but PATH and what the call adds. */
const run = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, { PATH: process.env.PATH, METADATA_SERVER_DETECTION: 'none', GOOGLE_CLOUD_PROJECT: 'makemac-bin-test', ...env }, { bare: true });

let fleet: FakeFleet;
beforeEach(async () => {
  fleet = await startFakeFleet();
});
afterEach(() => fleet.close());

describe('the makemac bin', () => {
  it('is compiled JavaScript that loads no TypeScript compiler', () => {
    expect(BIN).toMatch(/\.js$/);
    const source = readFileSync(BIN, 'utf8');
    expect(source.startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(source).not.toMatch(/tsx|typescript|esbuild/);
  });

  it('prints its usage, and its version from package.json three folders up', async () => {
    const help = await run(['--help']);
    expect([help.code, help.stderr]).toEqual([0, '']);
    expect(help.stdout).toContain('reconcile [--config FILE]');
    const version = await run(['--version']);
    expect([version.code, version.stderr]).toEqual([0, '']);
    expect(version.stdout).toBe(`makemac ${JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')).version}\n`);
  });

  it('runs as `npx makemac`, the way every README example calls it', () => {
    const npx = spawnSync('npx', ['--no-install', 'makemac', '--version'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect([npx.status, npx.stderr]).toEqual([0, '']);
    expect(npx.stdout).toMatch(/^makemac \d+\.\d+\.\d+\n$/);
  }, 60_000);

  it('runs a pass: JSON lines on a pipe, the dead lease vacated, exit 0', async () => {
    fleet.seedConvergedFleet();
    const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(dead, { isDead: true, lastSeenAt: 0 });
    const config = path.join(mkdtempSync(path.join(tmpdir(), 'makemac-bin-')), 'fleet.json');
    writeFileSync(config, JSON.stringify(fleet.configDocument()));

    const { code, stdout, stderr } = await run(['reconcile', '--config', config], SECRET_ENV);

    expect([code, stderr]).toEqual([0, '']);
    const lines = stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.find((l) => l.event === 'lease.vacate')).toMatchObject({ leaseId: dead.leaseId, reason: 'dead', outcome: 'ok' });
    expect(lines.at(-1)).toMatchObject({ event: 'pass.summary', outcome: 'ok', severity: 'INFO' });
    expect(fleet.world.leases.has(dead.leaseId)).toBe(false);
  });

  it('runs the demo (`npm start`) with nothing in its environment but PATH, writing nothing on stderr', async () => {
    const demo = await runCli(['demo'], { PATH: process.env.PATH }, { bare: true, timeoutMs: 60_000 });
    expect([demo.code, demo.stderr]).toEqual([0, '']);
    expect(demo.stdout).toMatch(/^Converged after \d+ passes/m);
  }, 60_000);

  it('checks a config, and reports a Secret Manager secret it cannot read without credentials on one line, exit 1', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'makemac-bin-'));
    const config = path.join(dir, 'fleet.json');
    const document = fleet.configDocument();
    writeFileSync(config, JSON.stringify(document));
    const ok = await run(['check', '--config', config], SECRET_ENV);
    expect([ok.code, ok.stderr]).toEqual([0, '']);
    (document.swarming as any)[0].groups[0].key = 'secret:makemac-bin-test/bot-key';
    writeFileSync(config, JSON.stringify(document));
    const unreadable = await run(['check', '--config', config, '--resolve'], { ...SECRET_ENV, HOME: dir });
    expect(unreadable.code).toBe(1);
    expect(unreadable.stderr).toMatch(/^makemac check: cannot read swarming\[0\]\.groups\[0\]\.key: secret:makemac-bin-test\/bot-key: [^\n]+\n$/);
    expect(fleet.macService.requests).toEqual([]);
  }, 60_000);

  it('stops at a bad config with exit 2 and no API call', async () => {
    const config = path.join(mkdtempSync(path.join(tmpdir(), 'makemac-bin-')), 'fleet.json');
    writeFileSync(config, '{"macService":{}}');
    const { code, stderr } = await run(['reconcile', '--config', config]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^makemac: bad config: /);
    expect(fleet.macService.requests).toEqual([]);
  });
});
