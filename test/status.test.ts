// `makemac status` as its own process against the fakes: text, JSON, HTML and exit codes, and
// proof that it only reads.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IMAGE_14, IMAGE_15, IMAGE_OLD, PUBLIC_HOST, SECRET_ENV, SECRETS, SECURITY_HOST, startFakeFleet, type FakeFleet } from './support/fake-fleet';
import { LIST_BOTS_PATH } from '../shared/swarming/wire';
import { startRawServer } from './support/raw-server';
import { runCli } from './support/run-cli';
import { HOUR } from './builders';

let fleet: FakeFleet;
let dir: string;

beforeEach(async () => {
  fleet = await startFakeFleet();
  dir = mkdtempSync(join(tmpdir(), 'makemac-status-'));
});
afterEach(async () => {
  await fleet.close();
});

async function status(args: string[] = [], document: unknown = fleet.configDocument()) {
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(document));
  return runCli(['status', '--config', configFile, ...args], SECRET_ENV);
}

/** A converged fleet plus one dead bot, one missing VM and one busy outdated lease. */
function troubledFleet() {
  fleet.seedConvergedFleet();
  const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
  fleet.addBotFor(dead, { isDead: true, lastSeenAt: fleet.world.now() - 2 * HOUR });
  const missing = fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14, 3 * HOUR);
  const outdated = fleet.addManagedLease(PUBLIC_HOST, 'darwin-arm64-15', IMAGE_OLD);
  fleet.addBotFor(outdated, { taskId: 'task-9' });
  return { dead, missing, outdated };
}

/** Every call the fakes received: MacService verbs, and Swarming's method and path. */
const calls = () => [
  ...fleet.macService.requests.map((r) => r.verb),
  ...[fleet.publicSwarming, fleet.securitySwarming].flatMap((s) => s.requests.map((r) => `${r.method} ${r.path}`)),
];
const LIST_BOTS = `POST ${LIST_BOTS_PATH}`;

describe('makemac status', () => {
  it('exits 0 on a fleet at count, in one table per host, after reads only', async () => {
    fleet.seedConvergedFleet();
    const { code, stdout, stderr } = await status();
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('Fleet at count and healthy: all 3 groups.');
    expect(stdout).toMatch(/^chromium-swarm\.appspot\.com · pool luci\.golang\.shared-workers · 5 bots listed$/m);
    expect(stdout).toMatch(/^GROUP\s+STATUS\s+WANT\s+LEASES\s+HEALTHY\s+IDLE\s+BUSY\s+BOOTING\s+MISSING\s+DEAD\s+QUAR\s+MAINT\s+UNKNOWN\s+OUTDATED\s+SOONEST EXPIRY\s+NEXT PASS$/m);
    expect(stdout).toMatch(/^darwin-amd64-14\s+ok\s+3\s+3\s+3\s+3\s+0\s+0\s+0\s+0\s+0\s+0\s+0\s+0\s+in 22h30m\s+nothing$/m);
    expect(stdout).toContain('Next pass: nothing.');
    expect(calls().sort()).toEqual([LIST_BOTS, LIST_BOTS, 'find']);
  });

  it('exits 1 and shows each trouble and what the next pass would do, changing nothing', async () => {
    const { dead, missing } = troubledFleet();
    const before = JSON.stringify([...fleet.world.leases.values()]);
    const { code, stdout } = await status(['--leases']);
    expect(code).toBe(1);
    expect(stdout).toContain('Fleet NOT at count: 0 of 3 groups at count and healthy.');
    expect(stdout).toMatch(/^darwin-amd64-14\s+unhealthy 1\s+3\s+4\s+3\s+3\s+0\s+0\s+0\s+1\s+.*vacate 1 \(dead 1\)$/m);
    expect(stdout).toMatch(/^darwin-arm64-15\s+outdated 1\s+2\s+3\s+3\s+2\s+1\s+.*deferred 1 \(busy 1\)$/m);
    expect(stdout).toMatch(/^darwin-amd64-14-security\s+unhealthy 1\s+1\s+2\s+1\s+1\s+0\s+0\s+1\s+.*vacate 1 \(missing 1\)$/m);
    expect(stdout).toContain('Next pass: vacate 2 (dead 1, missing 1), deferred 1 (busy 1).');
    // --leases: a line per lease with its verdict, note and next action.
    expect(stdout).toMatch(new RegExp(`^${dead.leaseId}\\s+${PUBLIC_HOST.replace(/\./g, '\\.')}\\s+darwin-amd64-14\\s+\\S+\\s+dead\\s+dead, last seen 2h ago\\s+111111111111 current\\s+1h30m\\s+in 22h30m\\s+vacate dead$`, 'm'));
    expect(stdout).toMatch(new RegExp(`^${missing.leaseId}\\s.*missing\\s+no bot 3h after creation\\s.*vacate missing$`, 'm'));
    expect(stdout).toMatch(/deferred busy \(vacate outdated\)$/m);
    expect(JSON.stringify([...fleet.world.leases.values()])).toBe(before);
    expect(calls().filter((call) => call !== 'find' && call !== LIST_BOTS)).toEqual([]);
    for (const secret of Object.values(SECRETS)) expect(stdout).not.toContain(secret);
  });

  it('prints a stable JSON document with --json', async () => {
    troubledFleet();
    const { code, stdout } = await status(['--json', '--leases']);
    expect(code).toBe(1);
    const document = JSON.parse(stdout);
    expect(document).toMatchObject({ formatVersion: 1, customer: 'golang', dryRun: false, ok: false, unmanagedLeases: 0 });
    expect(Object.keys(document)).toEqual([
      'formatVersion', 'observedAt', 'customer', 'dryRun', 'ok', 'hosts', 'retiredHosts', 'unmanagedLeases', 'strayBots', 'unparsedBots', 'brakes', 'next', 'leases',
    ]);
    const group = document.hosts[0].groups[0];
    expect(group).toMatchObject({ group: 'darwin-amd64-14', desired: 3, healthyCurrent: 3, leases: 4, healthy: 3, idle: 3, dead: 1, atCount: false });
    expect(group.next).toEqual({ create: 0, renew: 0, vacate: { dead: 1 }, deferred: {}, refused: 0 });
    expect(document.next).toEqual({ create: 0, renew: 0, vacate: { dead: 1, missing: 1 }, deferred: { busy: 1 }, refused: 0 });
    expect(document.leases).toHaveLength(9);
    expect(Object.keys(document.leases[0])).toEqual(['leaseId', 'swarmingHost', 'group', 'botId', 'state', 'note', 'inMaintenance', 'image', 'current', 'ageMs', 'expiresInMs', 'next']);
    for (const secret of Object.values(SECRETS)) expect(stdout).not.toContain(secret);
  });

  it('lists the leases of a retired host apart, with what the next pass drains', async () => {
    fleet.seedConvergedFleet();
    const old = fleet.world.addLease({ leaseId: '00000000-1111-4222-8333-444444444444', projectName: 'makemac/old-swarm.appspot.com', image: IMAGE_14 });
    const { code, stdout } = await status(['--json'], fleet.configDocument({ retiredHosts: ['old-swarm.appspot.com'] }));
    const document = JSON.parse(stdout);
    expect(document.retiredHosts).toEqual([{ host: 'old-swarm.appspot.com', counts: expect.objectContaining({ leases: 1, unknown: 1 }) }]);
    expect(document.retiredHosts[0].counts.next.vacate).toEqual({ retired: 1 });
    expect(document.hosts.every((h: any) => h.groups.every((g: any) => g.atCount))).toBe(true);
    expect(code).toBe(0);
    const text = await status([], fleet.configDocument({ retiredHosts: ['old-swarm.appspot.com'] }));
    expect(text.stdout).toContain('Retired hosts (retiredHosts), whose leases are drained:\n  old-swarm.appspot.com: 1 lease; next pass: vacate 1 (retired 1)');
    expect(fleet.world.leases.has(old.leaseId)).toBe(true);
  });

  it('says when a group\'s rollout is halted and which image it is backfilled on', async () => {
    // darwin-arm64-15 moves to an image two of whose leases never booted; its two old leases serve.
    for (let i = 0; i < 2; i++) fleet.addBotFor(fleet.addManagedLease(PUBLIC_HOST, 'darwin-arm64-15', IMAGE_OLD));
    for (let i = 0; i < 2; i++) fleet.addManagedLease(PUBLIC_HOST, 'darwin-arm64-15', IMAGE_15, 2 * HOUR);
    for (let i = 0; i < 3; i++) fleet.addBotFor(fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14));
    fleet.addBotFor(fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14));
    const { code, stdout } = await status(['--json']);
    expect(code).toBe(1);
    const group = JSON.parse(stdout).hosts[0].groups.find((g: any) => g.group === 'darwin-arm64-15');
    expect(group).toMatchObject({ rolloutHalted: true, backfillImage: IMAGE_OLD, missing: 2 });
    expect(group.next.deferred).toMatchObject({ evidence: 2, 'rollout-halted': 4 });
    const text = await status();
    expect(text.stdout).toMatch(/^darwin-arm64-15\s+halted, backfill 99999999\s/m);
  });

  it('writes one self-contained HTML page with the tables and a bar per group', async () => {
    troubledFleet();
    const page = join(dir, 'status.html');
    const { code, stdout } = await status(['--html', page]);
    expect(code).toBe(1);
    expect(stdout).toContain(`HTML page written to ${page}`);
    const html = readFileSync(page, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html.match(/<div class="bar">/g)).toHaveLength(3);
    expect(html).toContain('<td>darwin-amd64-14</td>');
    expect(html).toContain('vacate 1 (dead 1)');
    // Nothing fetched: no script, no external stylesheet or image.
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\//);
    for (const secret of Object.values(SECRETS)) expect(html).not.toContain(secret);
  });

  it('exits 1 naming the failure when MacService cannot be read, and 2 on bad config or usage', async () => {
    fleet.macService.inject('*', { kind: 'status', status: 503 });
    const unreadable = await status([], fleet.configDocument({ policy: { maxAttempts: 1 } }));
    expect(unreadable.code).toBe(1);
    expect(unreadable.stderr).toMatch(/makemac status: cannot observe the fleet: MacService leases:find failed/);

    const document = fleet.configDocument();
    (document.swarming as any)[0].groups[0].count = 'three';
    const bad = await status([], document);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('swarming[0].groups[0].count');

    for (const args of [['--lease'], ['now'], ['--html']]) {
      const usage = await status(args);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain('usage: makemac status');
    }
  });
});

describe('makemac status against a Swarming host that never answers', () => {
  it('shows the host blind once half the pass deadline is over, as a pass would, and exits 1', async () => {
    fleet.seedConvergedFleet();
    // Takes the request and never answers it.
    const silent = await startRawServer(() => new Promise(() => undefined));
    try {
      const document = fleet.configDocument({ policy: { passDeadline: '10s', requestTimeout: '3s', maxAttempts: 10 } });
      (document.swarming as any)[0].url = silent.url;
      const started = Date.now();
      const { code, stdout } = await status([], document);
      expect(code).toBe(1);
      expect(stdout).toMatch(new RegExp(`^${PUBLIC_HOST.replace(/\./g, '\\.')} · .* · BLIND: bot list failed: .*its share of the pass deadline`, 'm'));
      expect(Date.now() - started).toBeLessThan(8_000);
    } finally {
      await silent.close();
    }
  }, 30_000);
});
