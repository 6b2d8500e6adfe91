// The `makemac` command as a separate process (package.json's compiled bin), as an operator or a
// scheduler runs it: what reaches stderr, and what happens when it is sent a signal.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IMAGE_14, PUBLIC_HOST, SECRET_ENV, SECURITY_HOST, startFakeFleet, type FakeFleet } from './support/fake-fleet';
import { runCli } from './support/run-cli';

let fleet: FakeFleet;
let dir: string;
beforeEach(async () => {
  fleet = await startFakeFleet();
  dir = mkdtempSync(join(tmpdir(), 'makemac-process-'));
});
afterEach(() => fleet.close());

/** An environment without Google credentials of any kind: no ADC file, no metadata server override. */
function bareEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  return { PATH: process.env.PATH, HOME: dir, GOOGLE_CLOUD_PROJECT: 'makemac-test', ...SECRET_ENV, ...extra };
}

function writeConfig(document: unknown): string {
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(document));
  return file;
}

describe('makemac as a process', () => {
  it('prints nothing on stderr when it runs without Google credentials (no MetadataLookupWarning)', async () => {
    const document = fleet.configDocument();
    // A Swarming host that is not loopback needs a token, and so a credential lookup.
    (document.swarming as any)[0].url = 'https://swarming.invalid';
    const run = await runCli(['reconcile', '--config', writeConfig(document), '--dry-run'], bareEnv(), { bare: true });
    expect(run.stdout).toContain('could not get an access token');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(1);
  }, 60_000);

  function fifo(name: string): string {
    const path = join(dir, name);
    expect(spawnSync('mkfifo', [path]).status).toBe(0);
    return path;
  }

  it.each([
    ['a FIFO', () => fifo('config.fifo'), /config file .*config\.fifo is not a regular file \(a FIFO\)/],
    ['/dev/zero', () => '/dev/zero', /config file \/dev\/zero is not a regular file \(a character device\)/],
  ])('exits 2 at once when the config file is %s, instead of hanging or running out of memory', async (_name, path, message) => {
    const run = await runCli(['reconcile', '--config', path()], bareEnv(), { bare: true, timeoutMs: 15_000 });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(fleet.macService.requests).toEqual([]);
  }, 30_000);

  it('exits 2 before any API call when --plan-out is a FIFO, which would hang after the mutations', async () => {
    fleet.seedConvergedFleet();
    const planOut = fifo('plan.fifo');
    const run = await runCli(['reconcile', '--config', writeConfig(fleet.configDocument()), '--plan-out', planOut], bareEnv(), { bare: true, timeoutMs: 15_000 });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`--plan-out: ${planOut} is not a regular file`);
    expect(fleet.macService.requests).toEqual([]);
  }, 30_000);

  /** 12 leases due for renewal, each renewal held `renewDelayMs` by MacService; returns their ids. */
  function seedSlowRenewals(renewDelayMs: number): string[] {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const lease = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14, 3 * 3_600_000);
      fleet.addBotFor(lease);
      ids.push(lease.leaseId);
    }
    fleet.addBotFor(fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14));
    fleet.macService.inject('renew', { kind: 'delay', ms: renewDelayMs });
    return ids;
  }

  /** Runs one pass and sends `signal` once MacService has received `afterRenewals` renewals, then `second`, if any, 300 ms later. */
  async function interruptedPass(signal: NodeJS.Signals, afterRenewals: number, second?: NodeJS.Signals) {
    const document = fleet.configDocument({ policy: { concurrency: 2 } });
    (document.swarming as any)[0].groups[0].count = 12;
    const planOut = join(dir, 'plan.json');
    let signalledAt = 0;
    const onSpawn = (pid: number) => {
      const poll = setInterval(() => {
        if (fleet.macService.requests.filter((r) => r.verb === 'renew').length < afterRenewals) return;
        clearInterval(poll);
        process.kill(pid, signal);
        signalledAt = Date.now();
        if (second) {
          setTimeout(() => {
            process.kill(pid, second);
            signalledAt = Date.now();
          }, 300);
        }
      }, 10);
    };
    const run = runCli(['reconcile', '--config', writeConfig(document), '--plan-out', planOut], bareEnv(), { bare: true, onSpawn, timeoutMs: 60_000 });
    const result = await run;
    const lines = result.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
    return { ...result, lines, exitedAfterMs: Date.now() - signalledAt, planOut };
  }

  it('on SIGTERM mid-pass: starts nothing new, lets the renewals in flight finish, writes the summary and the plan, exits 1', async () => {
    seedSlowRenewals(1_000);
    const { code, lines, planOut, exitedAfterMs } = await interruptedPass('SIGTERM', 2);

    expect(code).toBe(1);
    expect(lines.find((l) => l.event === 'pass.interrupted')).toMatchObject({ signal: 'SIGTERM', severity: 'WARNING' });
    const renewals = lines.filter((l) => l.event === 'lease.renew');
    const ok = renewals.filter((l) => l.outcome === 'ok');
    // The two in flight at the signal finish (1 s is within the grace); nothing new starts.
    expect(ok).toHaveLength(2);
    expect(fleet.macService.requests.filter((r) => r.verb === 'renew')).toHaveLength(2);
    expect(renewals.filter((l) => l.outcome === 'skipped')).toHaveLength(10);
    expect(renewals.filter((l) => l.outcome === 'skipped').every((l) => /interrupted \(SIGTERM\) before it started/.test(l.error))).toBe(true);
    expect(lines.find((l) => l.event === 'pass.summary')).toMatchObject({ outcome: 'failed', failures: ['interrupted'], severity: 'ERROR' });
    expect(exitedAfterMs).toBeLessThan(4_000);
    const record = JSON.parse(readFileSync(planOut, 'utf8'));
    expect(record.failures).toEqual(['interrupted']);
    expect(record.actions.filter((a: any) => a.outcome === 'skipped')).toHaveLength(10);
  }, 60_000);

  it('on SIGINT with calls that outlast the grace: cancels them after 5 s, reports them failed, and still writes everything', async () => {
    seedSlowRenewals(30_000);
    const { code, lines, planOut, exitedAfterMs } = await interruptedPass('SIGINT', 2);

    expect(code).toBe(1);
    const renewals = lines.filter((l) => l.event === 'lease.renew');
    expect(renewals.filter((l) => l.outcome === 'error').map((l) => l.error)).toEqual([
      expect.stringMatching(/cancelled: SIGINT: still in flight after the 5s grace/),
      expect.stringMatching(/cancelled: SIGINT: still in flight after the 5s grace/),
    ]);
    expect(lines.find((l) => l.event === 'pass.summary')).toMatchObject({ outcome: 'failed', failures: ['action-error', 'interrupted'] });
    expect(exitedAfterMs).toBeGreaterThanOrEqual(5_000);
    expect(exitedAfterMs).toBeLessThan(9_000);
    expect(existsSync(planOut)).toBe(true);
  }, 60_000);

  it.each([
    ['SIGTERM', 'SIGINT'],
    ['SIGINT', 'SIGTERM'],
    ['SIGTERM', 'SIGTERM'],
  ] as const)('after %s, a second signal (%s) kills it at once, without waiting out the grace', async (first, second) => {
    seedSlowRenewals(30_000);
    const { code, lines, exitedAfterMs } = await interruptedPass(first, 2, second);
    expect(code).toBeNull();
    expect(lines.find((l) => l.event === 'pass.interrupted')).toMatchObject({ signal: first });
    expect(exitedAfterMs).toBeLessThan(2_000);
  }, 60_000);
});
