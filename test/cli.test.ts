// End to end: the CLI against the fake servers over loopback, asserting on what the fakes
// received, the world they hold, the exit code and the output.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../functions/cli';
import { METADATA } from '../shared/fleet';
import { macBotDimensions } from '../shared/sim/world';
import { CapturedStream } from './support/capture';
import { findAnswer, serveFind } from './support/find-answer';
import {
  IMAGE_14,
  IMAGE_15,
  PUBLIC_HOST,
  PUBLIC_POOL,
  SECRET_ENV,
  SECRETS,
  SECURITY_HOST,
  startFakeFleet,
  type FakeFleet,
} from './support/fake-fleet';
import { HOUR } from './builders';


let fleet: FakeFleet;
let dir: string;

beforeEach(async () => {
  fleet = await startFakeFleet();
  dir = mkdtempSync(join(tmpdir(), 'makemac-cli-'));
});
afterEach(async () => {
  await fleet.close();
});

async function run(args: string[], document: unknown = fleet.configDocument(), env: Record<string, string> = {}) {
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(document));
  const stdout = new CapturedStream();
  const stderr = new CapturedStream();
  const code = await main(['reconcile', '--config', configFile, ...args], {
    stdout,
    stderr,
    env: { ...SECRET_ENV, ...env },
  });
  return { code, stdout, stderr, output: stdout.text + stderr.text };
}

const mutations = () => fleet.macService.requests.filter((r) => r.verb !== 'find');

describe('makemac reconcile', () => {
  it('repairs a fleet: vacates the dead and the missing, creates replacements, leaves unmanaged leases alone', async () => {
    // darwin-amd64-14: 2 healthy + 1 dead of 3; darwin-arm64-15: 1 healthy + 1 missing of 2; security: 1 of 1.
    for (let i = 0; i < 2; i++) fleet.addBotFor(fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14));
    fleet.addBotFor(fleet.addManagedLease(PUBLIC_HOST, 'darwin-arm64-15', IMAGE_15), { taskId: 'task-1' });
    fleet.addBotFor(fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14));
    const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(dead, { isDead: true, lastSeenAt: fleet.world.now() - 2 * HOUR });
    const missing = fleet.addManagedLease(PUBLIC_HOST, 'darwin-arm64-15', IMAGE_15);
    const unmanaged = fleet.world.addLease({ leaseId: '00000000-1111-4222-8333-444444444444', projectName: 'hand-made', image: IMAGE_14, expiresAt: fleet.world.now() + HOUR });

    const planOut = join(dir, 'plan.json');
    const { code, stdout } = await run(['--plan-out', planOut]);

    expect(code).toBe(0);
    const vacated = mutations().filter((r) => r.verb === 'vacate').map((r) => r.body.leaseId).sort();
    expect(vacated).toEqual([dead.leaseId, missing.leaseId].sort());
    const creates = mutations().filter((r) => r.verb === 'create');
    expect(creates.map((r) => r.body.instanceSpecification.metadata[1].value).sort()).toEqual(['darwin-amd64-14', 'darwin-arm64-15']);
    expect(mutations().some((r) => JSON.stringify(r.body).includes(unmanaged.leaseId))).toBe(false);
    expect(fleet.world.leases.get(unmanaged.leaseId)?.expiresAt).toBe(unmanaged.expiresAt);

    // The create request is exactly what the contract fixes.
    const body = creates[0]!.body;
    expect(body.vmResourceNamespace).toEqual({ customerName: 'golang', projectName: `makemac/${PUBLIC_HOST}`, subCustomerName: '' });
    expect(body.duration).toBe('86400s');
    expect(body.instanceSpecification.profile).toBe('V1_MEDIUM_VM');
    expect(body.instanceSpecification.accessLevel).toBe('GOLANG_OSS');
    expect(body.instanceSpecification.metadata.map((m: { key: string }) => m.key)).toEqual([
      METADATA.swarming,
      METADATA.hostname,
      METADATA.cert,
      METADATA.key,
      METADATA.created,
    ]);
    expect(body.instanceSpecification.metadata[2].value).toBe(SECRETS.cert);
    expect(fleet.macService.requests[0]!.headers['x-goog-api-key']).toBe(SECRETS.apiKey);

    const lines = stdout.jsonLines();
    // Every line on stdout is one of makemac's entries, the logging library's included.
    const raw = stdout.text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line));
    expect(raw.length).toBe(lines.length);
    for (const entry of raw) expect(Object.keys(entry)).toEqual(expect.arrayContaining(['severity', 'message', 'event', 'passId', 'dryRun']));
    const vacates = lines.filter((l) => l.event === 'lease.vacate');
    expect(vacates.map((l) => [l.leaseId, l.reason, l.outcome]).sort()).toEqual(
      [
        [dead.leaseId, 'dead', 'ok'],
        [missing.leaseId, 'missing', 'ok'],
      ].sort(),
    );
    const summary = lines.find((l) => l.event === 'pass.summary')!;
    expect(summary.outcome).toBe('ok');
    expect(summary.severity).toBe('INFO');
    expect(summary['logging.googleapis.com/labels'].passId).toBe(summary.passId);
    expect(summary.apiCalls['macservice.create']).toBe(2);
    expect(lines.filter((l) => l.event === 'group.status')).toHaveLength(3);

    const record = JSON.parse(readFileSync(planOut, 'utf8'));
    expect(record.verdicts.find((v: any) => v.leaseId === dead.leaseId).state).toBe('dead');
    expect(record.verdicts.find((v: any) => v.leaseId === missing.leaseId).state).toBe('missing');
    expect(record.verdicts.some((v: any) => v.leaseId === unmanaged.leaseId)).toBe(false);
    expect(record.actions.filter((a: any) => a.kind === 'create').every((a: any) => a.outcome === 'ok' && a.createdLeaseId)).toBe(true);
  });

  it('in dry run sends no mutation and logs every action as it would have been', async () => {
    const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(dead, { isDead: true, lastSeenAt: fleet.world.now() - 2 * HOUR });
    const leasesBefore = JSON.stringify([...fleet.world.leases.values()]);

    const { code, stdout } = await run(['--dry-run']);

    expect(code).toBe(0);
    expect(mutations()).toEqual([]);
    expect(JSON.stringify([...fleet.world.leases.values()])).toBe(leasesBefore);
    const actions = stdout.jsonLines().filter((l) => l.event?.startsWith('lease.'));
    expect(actions.length).toBeGreaterThan(1);
    expect(actions.every((l) => l.outcome === 'dry-run' && l.dryRun === true)).toBe(true);
    expect(actions.find((l) => l.event === 'lease.vacate')).toMatchObject({ leaseId: dead.leaseId, reason: 'dead' });
  });

  it('retries a create that got 429 and succeeds on the next attempt', async () => {
    fleet.seedConvergedFleet();
    const gone = [...fleet.world.leases.values()].find((l) => l.image === IMAGE_15)!;
    fleet.world.leases.delete(gone.leaseId);
    fleet.macService.inject('create', { kind: 'status', status: 429, times: 1 });

    const { code, stdout } = await run([]);

    expect(code).toBe(0);
    expect(mutations().filter((r) => r.verb === 'create')).toHaveLength(2);
    const create = stdout.jsonLines().find((l) => l.event === 'lease.create')!;
    expect(create).toMatchObject({ outcome: 'ok', attempts: 2, reason: 'deficit', group: 'darwin-arm64-15' });
  });

  it('exits 1 and mutates nothing when MacService cannot be read', async () => {
    fleet.macService.inject('*', { kind: 'status', status: 503 });
    const { code, stdout } = await run([], fleet.configDocument({ policy: { maxAttempts: 2 } }));
    expect(code).toBe(1);
    expect(mutations()).toEqual([]);
    const summary = stdout.jsonLines().find((l) => l.event === 'pass.summary')!;
    expect(summary.failures).toEqual(['observation']);
    expect(stdout.jsonLines().find((l) => l.event === 'observe.error')).toMatchObject({ source: 'macservice', severity: 'ERROR' });
  });

  it('exits 1 when a Swarming host is blind, vacating nothing there but still renewing', async () => {
    const expiring = fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14, 5 * HOUR);
    fleet.securitySwarming.inject({ kind: 'status', status: 503, grpcCode: 14 });
    const { code, stdout } = await run([], fleet.configDocument({ policy: { maxAttempts: 1 } }));
    expect(code).toBe(1);
    expect(mutations().filter((r) => r.verb === 'vacate')).toEqual([]);
    expect(mutations().filter((r) => r.verb === 'renew').map((r) => r.body.leaseId)).toEqual([expiring.leaseId]);
    expect(stdout.jsonLines().find((l) => l.event === 'pass.summary')!.blindHosts).toEqual([SECURITY_HOST]);
    // The blind host's group is of unknown health, not of zero: no ratio for the capacity alert.
    const status = stdout.jsonLines().find((l) => l.event === 'group.status' && l.swarmingHost === SECURITY_HOST)!;
    expect(status).toMatchObject({ unknown: 1, healthy: 0, severity: 'WARNING' });
    expect(status.healthyRatio).toBeUndefined();
    expect(status.message).toContain('health unknown, its host is blind');
    expect(stdout.jsonLines().find((l) => l.event === 'group.status' && l.group === 'darwin-amd64-14')!.healthyRatio).toBe(0);
  });

  it('exits 0 when a vacate finds its lease already gone (404): outcome gone, logged', async () => {
    fleet.seedConvergedFleet();
    const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(dead, { isDead: true, lastSeenAt: fleet.world.now() - 2 * HOUR });
    fleet.macService.inject('vacate', { kind: 'status', status: 404, body: JSON.stringify({ error: { code: 404, message: 'Lease not found.', status: 'NOT_FOUND' } }) });
    const planOut = join(dir, 'plan.json');
    const { code, stdout } = await run(['--plan-out', planOut]);
    expect(code).toBe(0);
    expect(stdout.jsonLines().find((l) => l.event === 'lease.vacate')).toMatchObject({ leaseId: dead.leaseId, outcome: 'gone', severity: 'NOTICE' });
    expect(stdout.jsonLines().find((l) => l.event === 'pass.summary')).toMatchObject({ outcome: 'ok', actions: { gone: 1, error: 0 } });
    expect(JSON.parse(readFileSync(planOut, 'utf8')).actions.find((a: any) => a.leaseId === dead.leaseId).outcome).toBe('gone');
  });


  it('a host whose Swarming lists only a leftover bot of an unknown lease is blind: none of its leases is vacated as missing', async () => {
    const leases = Array.from({ length: 3 }, () => fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14, 3 * HOUR));
    fleet.addBotFor(fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14));
    fleet.world.addBot(PUBLIC_HOST, {
      botId: 'darwin-amd64-14--0a0a0a0a-0000-4000-8000-000000000000.golang.c3.macservice.goog',
      isDead: true,
      dimensions: macBotDimensions(PUBLIC_POOL, '14.5'),
    });
    const { code, stdout } = await run([]);
    expect(mutations().filter((r) => r.verb === 'vacate')).toEqual([]);
    for (const lease of leases) expect(fleet.world.leases.has(lease.leaseId)).toBe(true);
    // Its due renewals still happen.
    expect(mutations().filter((r) => r.verb === 'renew').map((r) => r.body.leaseId).sort()).toEqual(leases.map((l) => l.leaseId).sort());
    expect(code).toBe(1);
    const summary = stdout.jsonLines().find((l) => l.event === 'pass.summary')!;
    expect(summary.blindHosts).toEqual([PUBLIC_HOST]);
  });

  it('a lease list that omits half the leases creates and vacates nothing, and still renews the leases it lists', async () => {
    const document = fleet.configDocument();
    (document.swarming as any)[0].groups[0].count = 20;
    const leases = Array.from({ length: 20 }, (_, i) => fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14, i % 2 === 0 ? 3 * HOUR : 90 * 60_000));
    leases.forEach((lease) => fleet.addBotFor(lease));
    fleet.addBotFor(fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14));
    const answer = await findAnswer(fleet);
    const omitted = new Set(leases.slice(0, 10).map((l) => l.leaseId));
    serveFind(fleet, answer.instances.filter((i) => !omitted.has(i.lease.leaseId)));

    const planOut = join(dir, 'plan.json');
    const { code, stdout } = await run(['--plan-out', planOut], document);

    expect(mutations().filter((r) => r.verb === 'create' || r.verb === 'vacate')).toEqual([]);
    const listedExpiring = leases.slice(10).filter((_, i) => i % 2 === 0).map((l) => l.leaseId);
    expect(mutations().filter((r) => r.verb === 'renew').map((r) => r.body.leaseId).sort()).toEqual(listedExpiring.sort());
    expect(code).toBe(1);
    const lines = stdout.jsonLines();
    expect(lines.find((l) => l.event === 'observe.error' && l.source === 'macservice')!.message).toMatch(/lease list looks incomplete.*10 live bots/);
    expect(lines.find((l) => l.event === 'pass.summary')).toMatchObject({ outcome: 'failed', failures: ['observation'] });
    const record = JSON.parse(readFileSync(planOut, 'utf8'));
    expect(record.deferred.filter((d: any) => d.reason === 'lease-list').length).toBeGreaterThan(0);
  });

  it('a lease id listed twice with different tags is left alone, not judged on its first copy', async () => {
    fleet.seedConvergedFleet();
    const twin = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14, 3 * HOUR);
    const answer = await findAnswer(fleet);
    const managedCopy = answer.instances.find((i) => i.lease.leaseId === twin.leaseId);
    const foreignCopy = structuredClone(managedCopy);
    foreignCopy.lease.vmResourceNamespace.projectName = 'someone-else';
    serveFind(fleet, [...answer.instances, foreignCopy]);

    const { code, stdout } = await run([]);

    expect(mutations().some((r) => r.body.leaseId === twin.leaseId)).toBe(false);
    expect(fleet.world.leases.has(twin.leaseId)).toBe(true);
    expect(stdout.jsonLines().find((l) => l.event === 'lease.duplicate')).toMatchObject({ leaseId: twin.leaseId, copies: 2, severity: 'WARNING' });
    expect(code).toBe(0);
  });

  it('creates without the makemac.created stamp when MacService refuses the key: once retried, then for the rest of the pass', async () => {
    await fleet.close();
    fleet = await startFakeFleet({ refuseUnknownMetadata: true });
    fleet.addBotFor(fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14));
    const { code, stdout } = await run([], fleet.configDocument({ policy: { concurrency: 1 } }));

    expect(code).toBe(0);
    const creates = mutations().filter((r) => r.verb === 'create');
    const keys = creates.map((r) => r.body.instanceSpecification.metadata.map((m: { key: string }) => m.key).includes(METADATA.created));
    // The first create carries the stamp and is refused; its retry and the four other creates do not.
    expect(keys).toEqual([true, false, false, false, false, false]);
    const made = [...fleet.world.leases.values()].filter((l) => !l.metadata.some((m) => m.value === 'darwin-amd64-14-security'));
    expect(made).toHaveLength(5);
    const lines = stdout.jsonLines().filter((l) => l.event === 'lease.create');
    expect(lines).toHaveLength(5);
    expect(lines.every((l) => l.outcome === 'ok' && l.stamped === false && /MacService refused/.test(l.message))).toBe(true);
  });

  it('a Swarming host paging slowly is cut off at half the pass deadline: blind, and its leases are still renewed', async () => {
    const expiring = Array.from({ length: 3 }, () => fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14, 3 * HOUR));
    expiring.forEach((lease) => fleet.addBotFor(lease));
    fleet.addBotFor(fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14));
    // One bot a page, a quarter of a second a page, always another cursor: 150 pages would take 37 s.
    for (let i = 0; i < 150; i++) fleet.world.addBot(PUBLIC_HOST, { botId: `linux-${String(i).padStart(3, '0')}--x.example.com`, dimensions: macBotDimensions(PUBLIC_POOL, '14.5') });
    fleet.publicSwarming.pageSize = 1;
    fleet.publicSwarming.inject({ kind: 'delay', ms: 250 });
    const document = fleet.configDocument({ policy: { passDeadline: '10s', requestTimeout: '2s' } });
    (document.swarming as any)[0].groups[1].count = 0;

    const started = Date.now();
    const { code, stdout } = await run([], document);

    expect(Date.now() - started).toBeLessThan(8_000);
    expect(code).toBe(1);
    expect(mutations().filter((r) => r.verb === 'renew').map((r) => r.body.leaseId).sort()).toEqual(expiring.map((l) => l.leaseId).sort());
    const summary = stdout.jsonLines().find((l) => l.event === 'pass.summary')!;
    expect(summary.blindHosts).toEqual([PUBLIC_HOST]);
    expect(stdout.jsonLines().find((l) => l.event === 'observe.error' && l.swarmingHost === PUBLIC_HOST)!.error).toMatch(/cancelled: not done within 5s, its share of the pass deadline/);
    expect(summary.actions).toMatchObject({ ok: 3, skipped: 0 });
  }, 20_000);

  it('a lease list slower than three quarters of the pass deadline fails the observation then, without waiting further', async () => {
    fleet.seedConvergedFleet();
    fleet.macService.inject('find', { kind: 'delay', ms: 9_500 });
    const started = Date.now();
    const { code, stdout } = await run([], fleet.configDocument({ policy: { passDeadline: '10s', requestTimeout: '9800ms' } }));
    expect(Date.now() - started).toBeLessThan(9_000);
    expect(code).toBe(1);
    expect(mutations()).toEqual([]);
    expect(stdout.jsonLines().find((l) => l.event === 'pass.summary')!.failures).toEqual(['observation']);
  }, 20_000);

  it('exits 2 on a bad config, naming the field, without any API call', async () => {
    const document = fleet.configDocument();
    (document.swarming as any)[0].groups[0].count = -1;
    const { code, stderr, stdout } = await run([], document);
    expect(code).toBe(2);
    expect(stderr.text).toContain('swarming[0].groups[0].count: must be a whole number ≥ 0');
    expect(stdout.text).toBe('');
    expect(fleet.macService.requests).toEqual([]);
    expect(fleet.publicSwarming.requests).toEqual([]);
    expect(fleet.securitySwarming.requests).toEqual([]);
  });

  it('exits 2 before any API call when the plan file cannot be written', async () => {
    const { code, stderr } = await run(['--plan-out', join(dir, 'no-such-dir', 'plan.json')]);
    expect(code).toBe(2);
    expect(stderr.text).toMatch(/--plan-out: cannot write .*no-such-dir\/plan\.json \(ENOENT\)/);
    expect(fleet.macService.requests).toEqual([]);
    expect((await run(['--plan-out', dir])).stderr.text).toContain('is a directory');
  });

  it.each([
    ['a directory', () => dir, /is not a regular file \(a directory\)/],
    ['larger than 1 MiB', () => { const big = join(dir, 'big.json'); writeFileSync(big, ' '.repeat(1024 * 1024 + 1)); return big; }, /is larger than 1024 KiB/],
  ])('exits 2 before any API call when the config file is %s', async (_name, path, message) => {
    const stderr = new CapturedStream();
    const code = await main(['reconcile', '--config', path()], { stdout: new CapturedStream(), stderr, env: SECRET_ENV });
    expect(code).toBe(2);
    expect(stderr.text).toMatch(message);
    expect(fleet.macService.requests).toEqual([]);
  });

  it('reads a config file of just under the bound', async () => {
    const text = JSON.stringify(fleet.configDocument());
    const file = join(dir, 'padded.json');
    writeFileSync(file, text + ' '.repeat(1024 * 1024 - Buffer.byteLength(text)));
    const code = await main(['reconcile', '--config', file, '--dry-run'], { stdout: new CapturedStream(), stderr: new CapturedStream(), env: SECRET_ENV });
    expect(code).toBe(0);
  });

  it('escapes control characters in text output: a lease id with a newline cannot forge a line', async () => {
    const forged = 'ffffffff-0000-4000-8000-000000000000\nERROR Pass FAILED (forged)\u001b[2J';
    fleet.world.addLease({ leaseId: forged, projectName: `makemac/${PUBLIC_HOST}`, image: IMAGE_14, createdAt: fleet.world.now() - 2 * HOUR, expiresAt: fleet.world.now() + 20 * HOUR });
    // Its host lists no bot for it, so it is blind: the lease's id appears in the deferral line.
    const { stdout } = await run(['--log-format', 'text', '--dry-run']);
    expect(stdout.text).toContain('ffffffff-0000-4000-8000-000000000000\\nERROR Pass FAILED (forged)\\u001b[2J');
    expect(stdout.text.split('\n').some((line) => line.startsWith('ERROR Pass FAILED (forged)'))).toBe(false);
    expect(stdout.text).not.toContain('\u001b');
  });

  it('exits 2 on an unknown flag', async () => {
    const { code, stderr } = await run(['--dryrun']);
    expect(code).toBe(2);
    expect(stderr.text).toMatch(/Unknown option '--dryrun'/);
    expect(fleet.macService.requests).toEqual([]);
  });

  it('keeps every secret out of logs, errors and the plan file, even when actions fail', async () => {
    fleet.seedConvergedFleet();
    const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(dead, { isDead: true, lastSeenAt: 0 });
    fleet.world.leases.delete([...fleet.world.leases.values()].find((l) => l.image === IMAGE_15)!.leaseId);
    fleet.macService.inject('create', { kind: 'status', status: 400, body: JSON.stringify({ error: { code: 400, message: `bad metadata ${SECRETS.key}` } }) });
    fleet.macService.inject('vacate', { kind: 'status', status: 500 });

    const planOut = join(dir, 'plan.json');
    const json = await run(['--plan-out', planOut], fleet.configDocument({ policy: { maxAttempts: 1 } }));
    const text = await run(['--log-format', 'text', '--dry-run']);

    expect(json.code).toBe(1);
    const everything = json.output + readFileSync(planOut, 'utf8') + text.output;
    expect(everything).toContain('lease.create');
    for (const secret of Object.values(SECRETS)) expect(everything).not.toContain(secret);
    expect(everything).not.toContain('KEYBODY');
    expect(everything).not.toContain('CERTBODY');
  });

  it('writes a readable table when asked for text', async () => {
    const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(dead, { isDead: true, lastSeenAt: 0 });
    const { code, stdout } = await run(['--log-format', 'text', '--dry-run']);
    expect(code).toBe(0);
    expect(stdout.text).toMatch(/^ACTION\s+REASON\s+OUTCOME\s+HOST\s+GROUP\s+LEASE\s+DETAIL/m);
    expect(stdout.text).toMatch(new RegExp(`^vacate\\s+dead\\s+dry-run\\s+${PUBLIC_HOST.replace(/\./g, '\\.')}\\s+darwin-amd64-14\\s+${dead.leaseId}`, 'm'));
    expect(stdout.text).toMatch(/Pass completed \[dry run\]/);
  });
});

describe('every command', () => {
  async function cli(argv: string[], options: { ttyStderr?: boolean } = {}) {
    const stdout = new CapturedStream();
    const stderr = new CapturedStream();
    stderr.isTTY = options.ttyStderr ?? false;
    const code = await main(argv, { stdout, stderr, env: {} });
    return { code, stdout: stdout.text, stderr: stderr.text };
  }
  const COMMANDS = ['reconcile', 'status', 'check', 'fakes', 'demo', 'simulate', 'bench'];

  it('prints the version from package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    for (const flag of ['--version', 'version']) {
      const run = await cli([flag]);
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(`makemac ${version}\n`);
    }
    expect((await cli(['--version', 'now'])).code).toBe(2);
  });

  it.each(COMMANDS)('%s: --help prints its usage and exits 0, doing nothing else', async (command) => {
    const run = await cli([command, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^usage: makemac ${command}`));
    expect(run.stderr).toBe('');
  });

  it.each(COMMANDS)('%s: an unknown flag or a stray word is refused with exit 2 and its usage', async (command) => {
    for (const extra of [['--no-such-flag'], ['extra']]) {
      const run = await cli([command, ...extra]);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`usage: makemac ${command}`);
      expect(run.stdout).toBe('');
    }
  });

  it('lists every command in the top-level help', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    for (const command of COMMANDS) expect(run.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  });
});

describe('makemac simulate', () => {
  async function simulate(args: string[], ttyStderr: boolean) {
    const stdout = new CapturedStream();
    const stderr = new CapturedStream();
    stderr.isTTY = ttyStderr;
    const code = await main(['simulate', '--scenario', 'steady', '--days', '0.1', ...args], { stdout, stderr, env: {} });
    return { code, stdout: stdout.text, stderr: stderr.text };
  }

  it('names the Go baseline go-makemac, says which column is which, and still takes makemac', async () => {
    const run = await simulate(['--policy', 'both'], false);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Policies: default = this makemac's planner; go-makemac = Go's cmd\/makemac \(golang\/build\), emulated\.$/m);
    expect(run.stdout).toMatch(/^ {2}policy\s+default\s+go-makemac$/m);
    const alias = await simulate(['--policy', 'makemac'], false);
    expect(alias.code).toBe(0);
    expect(alias.stdout).toMatch(/^ {2}policy\s+go-makemac$/m);
    expect((await simulate(['--policy', 'go'], false)).stderr).toContain('--policy must be default, go-makemac or both');
  });

  it('shows progress on stderr only when it is a terminal, and never with --json', async () => {
    const terminal = await simulate(['--policy', 'both'], true);
    expect(terminal.stderr).toMatch(/\r\x1b\[Kmakemac simulate: steady · default · day 0\.\d of 0\.1 · cell 1 of 2 · \d+% · \d+s elapsed/);
    expect(terminal.stderr.endsWith('\r\x1b[K')).toBe(true);
    expect(terminal.stdout).not.toContain('\r');

    expect((await simulate(['--policy', 'both'], false)).stderr).toBe('');
    expect((await simulate(['--policy', 'both', '--json'], true)).stderr).toBe('');
  });
});

describe('makemac bench', () => {
  it('shows progress on stderr only when it is a terminal', async () => {
    const run = async (tty: boolean) => {
      const stdout = new CapturedStream();
      const stderr = new CapturedStream();
      stderr.isTTY = tty;
      const code = await main(['bench', '--sizes', '20', '--latency-ms', '0'], { stdout, stderr, env: {} });
      return { code, stderr: stderr.text };
    };
    const terminal = await run(true);
    expect(terminal.code).toBe(0);
    expect(terminal.stderr).toMatch(/makemac bench: 20 leases · action pass c=8 · cell 1 of 4 · 0% · 0s elapsed/);
    expect((await run(false)).stderr).toBe('');
  });
});
