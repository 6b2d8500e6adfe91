// Faults in the middle of a pass, each through runPass against the fakes: what the pass does,
// what the fakes received, what is left in the world, and how the summary reports it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IMAGE_14, IMAGE_15, PUBLIC_HOST, SECURITY_HOST, startFakeFleet, type FakeFleet } from './support/fake-fleet';
import { fakeClock, mutationsOf, requestsOf, runFleetPass } from './support/pass-harness';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let fleet: FakeFleet;
beforeEach(async () => {
  fleet = await startFakeFleet();
});
afterEach(() => fleet.close());

const outcomesOf = (result: Awaited<ReturnType<typeof runFleetPass>>, kind: 'create' | 'renew' | 'vacate') =>
  result.outcomes.filter((o) => o.action.kind === kind);

/** Leases that are 3h old: kept, healthy, and due for renewal (expiry 21h away, under renewBefore 22h). */
function addExpiringHealthy(host: string, hostname: string, image: string) {
  const lease = fleet.addManagedLease(host, hostname, image, 3 * HOUR);
  fleet.addBotFor(lease);
  return lease;
}

describe('a mutation fails mid-pass', () => {
  it('a vacate that fails for one lease: the others proceed, the failure is reported, the pass fails', async () => {
    fleet.seedConvergedFleet();
    const dead = [0, 1, 2].map(() => {
      const lease = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
      fleet.addBotFor(lease, { isDead: true, lastSeenAt: Date.now() - 2 * HOUR });
      return lease;
    });
    // One at a time, so the fault meets the first vacate in plan order (lease id order).
    fleet.macService.inject('vacate', { kind: 'status', status: 403, times: 1 });
    const result = await runFleetPass(fleet, { policy: { concurrency: 1 } });

    const [first, ...rest] = dead.map((l) => l.leaseId).sort();
    expect(requestsOf(fleet, 'vacate').map((r) => r.body.leaseId)).toEqual([first, ...rest]);
    expect(fleet.world.leases.has(first!)).toBe(true);
    for (const id of rest) expect(fleet.world.leases.has(id)).toBe(false);
    const vacates = outcomesOf(result, 'vacate');
    expect(vacates.map((o) => [o.action.kind === 'vacate' && o.action.leaseId, o.outcome])).toEqual([
      [first, 'error'],
      [rest[0], 'ok'],
      [rest[1], 'ok'],
    ]);
    expect(vacates[0]!.error).toMatch(/HTTP 403/);
    expect(vacates[0]!.attempts).toBe(1);
    expect(result.summary).toMatchObject({ outcome: 'failed', failures: ['action-error'], actions: { error: 1, ok: 2 } });
    expect(result.summary.groups.find((g) => g.group === 'darwin-amd64-14')).toMatchObject({ vacated: 2, failed: 1 });
    const logged = result.entries.filter((e) => e.fields.event === 'lease.vacate' && e.fields.outcome === 'error');
    expect(logged.map((e) => [e.severity, e.fields.leaseId])).toEqual([['ERROR', first]]);
  });

  it('a create answered 429 every time: bounded retries on a fake clock, the pass ends before its deadline, renewals still go', async () => {
    const clock = fakeClock();
    fleet.seedConvergedFleet();
    // Two of darwin-amd64-14's three leases gone: a deficit of two. One arm64 lease is due for renewal.
    const amd = [...fleet.world.leases.values()].filter((l) => l.metadata.some((m) => m.value === 'darwin-amd64-14'));
    fleet.world.leases.delete(amd[0]!.leaseId);
    fleet.world.leases.delete(amd[1]!.leaseId);
    const expiring = addExpiringHealthy(PUBLIC_HOST, 'darwin-arm64-15', IMAGE_15);
    const expiryBefore = expiring.expiresAt;
    fleet.macService.inject('create', { kind: 'status', status: 429, retryAfter: '7' });

    const started = Date.now();
    const clockStart = clock.now();
    const result = await runFleetPass(fleet, { policy: { maxAttempts: 3 }, now: clock.now, sleep: clock.sleep });

    expect(requestsOf(fleet, 'create')).toHaveLength(2 * 3);
    const creates = outcomesOf(result, 'create');
    expect(creates.map((o) => [o.outcome, o.attempts])).toEqual([
      ['error', 3],
      ['error', 3],
    ]);
    expect(creates[0]!.error).toMatch(/HTTP 429/);
    // Retry-After was honoured on the fake clock: two waits of at least 7 s per create.
    expect(clock.now() - clockStart).toBeGreaterThanOrEqual(2 * 2 * 7_000);
    expect(result.summary.durationMs).toBeLessThan(4 * MINUTE);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(outcomesOf(result, 'renew').map((o) => o.outcome)).toEqual(['ok']);
    expect(fleet.world.leases.get(expiring.leaseId)!.expiresAt).toBeGreaterThan(expiryBefore + HOUR);
    expect(result.summary).toMatchObject({ outcome: 'failed', failures: ['action-error'] });
  });

  it('a 429 asking to wait past the deadline is not waited for', async () => {
    const clock = fakeClock();
    fleet.seedConvergedFleet();
    fleet.world.leases.delete([...fleet.world.leases.values()][0]!.leaseId);
    fleet.macService.inject('create', { kind: 'status', status: 429, retryAfter: '3600' });
    const result = await runFleetPass(fleet, { now: clock.now, sleep: clock.sleep });
    expect(requestsOf(fleet, 'create')).toHaveLength(1);
    expect(outcomesOf(result, 'create')[0]).toMatchObject({ outcome: 'error', attempts: 1, error: expect.stringMatching(/no time left/) });
    expect(result.summary.durationMs).toBeLessThan(4 * MINUTE);
  });

  it('a renew answered 404 for a lease someone else vacated: reported, and the other renewals happen', async () => {
    const leases = [0, 1, 2].map(() => addExpiringHealthy(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14));
    fleet.addBotFor(fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14));
    const [gone, ...kept] = leases;
    const expiryBefore = new Map(leases.map((l) => [l.leaseId, l.expiresAt]));
    let finds = 0;
    const result = await runFleetPass(fleet, {
      policy: { concurrency: 1 },
      document: fleet.configDocument({
        swarming: fleet.configDocument().swarming.map((s: any) => ({ ...s, groups: s.groups.filter((g: any) => g.hostname !== 'darwin-arm64-15') })),
      }),
      wrapClients: (clients) => ({
        ...clients,
        macService: {
          find: async () => {
            const found = await clients.macService.find();
            // Another party vacates a lease right after this pass observed it.
            if (++finds === 1) fleet.world.leases.delete(gone!.leaseId);
            return found;
          },
          create: (request) => clients.macService.create(request),
          renew: (id, seconds) => clients.macService.renew(id, seconds),
          vacate: (id) => clients.macService.vacate(id),
        },
      }),
    });

    expect(requestsOf(fleet, 'renew').map((r) => r.body.leaseId).sort()).toEqual(leases.map((l) => l.leaseId).sort());
    const renewals = outcomesOf(result, 'renew');
    expect(renewals.find((o) => o.action.kind === 'renew' && o.action.leaseId === gone!.leaseId)).toMatchObject({
      outcome: 'error',
      attempts: 1,
      error: expect.stringMatching(/HTTP 404.*lease/),
    });
    expect(renewals.filter((o) => o.outcome === 'ok')).toHaveLength(2);
    for (const lease of kept) expect(fleet.world.leases.get(lease.leaseId)!.expiresAt).toBeGreaterThan(expiryBefore.get(lease.leaseId)! + HOUR);
    expect(requestsOf(fleet, 'create')).toEqual([]);
    expect(result.summary).toMatchObject({ outcome: 'failed', failures: ['action-error'] });
  });
});

describe('a dependency is down or slow', () => {
  it.each([
    ['refuses connections', async () => fleet.securitySwarming.close()],
    ['answers 503 UNAVAILABLE', async () => fleet.securitySwarming.inject({ kind: 'status', status: 503, grpcCode: 14 })],
  ])('one of two Swarming hosts %s: the other is handled normally; the down one is renewed, not vacated', async (_name, breakIt) => {
    fleet.seedConvergedFleet();
    const publicDead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(publicDead, { isDead: true, lastSeenAt: Date.now() - 2 * HOUR });
    // The security host's leases: its one converged lease, plus one whose bot is dead and one
    // with no bot at all, both expiring. Nothing may tell makemac they are broken now.
    const securityDead = fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14, 3 * HOUR);
    fleet.addBotFor(securityDead, { isDead: true, lastSeenAt: Date.now() - 2 * HOUR });
    const securityMissing = fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14, 3 * HOUR);
    const expiryBefore = securityMissing.expiresAt;
    await breakIt();

    const result = await runFleetPass(fleet, { policy: { maxAttempts: 2 } });

    expect(requestsOf(fleet, 'vacate').map((r) => r.body.leaseId)).toEqual([publicDead.leaseId]);
    expect(fleet.world.leases.has(publicDead.leaseId)).toBe(false);
    expect(requestsOf(fleet, 'renew').map((r) => r.body.leaseId).sort()).toEqual([securityDead.leaseId, securityMissing.leaseId].sort());
    expect(fleet.world.leases.get(securityMissing.leaseId)!.expiresAt).toBeGreaterThan(expiryBefore + HOUR);
    expect(requestsOf(fleet, 'create')).toEqual([]);
    expect(result.summary.blindHosts.map((h) => h.host)).toEqual([SECURITY_HOST]);
    expect(result.summary).toMatchObject({ outcome: 'failed', failures: ['blind-host'] });
    const security = result.plan!.verdicts.filter((v) => v.swarmingHost === SECURITY_HOST);
    expect(security.map((v) => v.state)).toEqual(['unknown', 'unknown', 'unknown']);
    expect(result.entries.some((e) => e.fields.event === 'observe.error' && e.fields.swarmingHost === SECURITY_HOST && e.severity === 'ERROR')).toBe(true);
  });

  it('MacService slower than the request timeout: the observation fails after bounded retries and nothing is mutated', async () => {
    fleet.seedConvergedFleet();
    const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(dead, { isDead: true, lastSeenAt: 0 });
    fleet.world.leases.delete([...fleet.world.leases.values()].find((l) => l.projectName.endsWith(SECURITY_HOST))!.leaseId);
    fleet.macService.inject('find', { kind: 'delay', ms: 1_000 });

    const started = Date.now();
    const result = await runFleetPass(fleet, { policy: { requestTimeout: '200ms', maxAttempts: 2 } });

    expect(Date.now() - started).toBeLessThan(1_500);
    expect(requestsOf(fleet, 'find')).toHaveLength(2);
    expect(mutationsOf(fleet)).toEqual([]);
    expect(fleet.world.leases.has(dead.leaseId)).toBe(true);
    expect(result.summary).toMatchObject({ outcome: 'failed', failures: ['observation'] });
    expect(result.summary.error).toMatch(/no response within 200ms/);
  });

  it('MacService slow only once: the retry observes and the pass does its work', async () => {
    fleet.seedConvergedFleet();
    const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(dead, { isDead: true, lastSeenAt: 0 });
    fleet.macService.inject('find', { kind: 'delay', ms: 1_000, times: 1 });
    const result = await runFleetPass(fleet, { policy: { requestTimeout: '200ms', maxAttempts: 2 } });
    expect(requestsOf(fleet, 'vacate').map((r) => r.body.leaseId)).toEqual([dead.leaseId]);
    expect(result.summary.outcome).toBe('ok');
  });

  it.each([
    ['the connection is cut after MacService applied it', { kind: 'drop-after-apply' as const, times: 1 }, {}],
    ['the answer came after the request timeout', { kind: 'delay' as const, ms: 300, times: 1 }, { requestTimeout: '150ms' }],
  ])('a vacate retried because %s meets 404 on the retry: the lease is gone, so it is ok', async (_name, fault, policy) => {
    fleet.seedConvergedFleet();
    const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(dead, { isDead: true, lastSeenAt: 0 });
    fleet.macService.inject('vacate', fault);
    // Real waits between attempts, so a delayed first attempt has been applied when the retry comes.
    const result = await runFleetPass(fleet, { policy: { maxAttempts: 3, ...policy }, sleep: (ms) => new Promise((r) => setTimeout(r, Math.max(ms, 300))) });
    expect(fleet.world.leases.has(dead.leaseId)).toBe(false);
    expect(requestsOf(fleet, 'vacate')).toHaveLength(2);
    expect(outcomesOf(result, 'vacate')[0]).toMatchObject({ outcome: 'ok', attempts: 2 });
    expect(result.summary).toMatchObject({ outcome: 'ok', failures: [] });
  });

  it('a vacate answered 404 at its first attempt finds the lease already gone: outcome gone, logged, not a failure', async () => {
    fleet.seedConvergedFleet();
    const dead = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14);
    fleet.addBotFor(dead, { isDead: true, lastSeenAt: 0 });
    // Someone else vacates it between this pass's observation and its vacate.
    const result = await runFleetPass(fleet, {
      wrapClients: (clients) => ({
        ...clients,
        macService: Object.assign(Object.create(clients.macService), {
          vacate: (leaseId: string) => {
            fleet.world.leases.delete(leaseId);
            return clients.macService.vacate(leaseId);
          },
        }),
      }),
    });
    expect(requestsOf(fleet, 'vacate')).toHaveLength(1);
    expect(outcomesOf(result, 'vacate')[0]).toMatchObject({ outcome: 'gone', attempts: 1 });
    expect(result.summary).toMatchObject({ outcome: 'ok', failures: [], actions: { gone: 1, error: 0 } });
    const entry = result.entries.find((e) => e.fields.event === 'lease.vacate')!;
    expect(entry).toMatchObject({ severity: 'NOTICE', fields: { outcome: 'gone', leaseId: dead.leaseId, reason: 'dead' } });
    expect(entry.message).toContain('already gone');
  });
});

describe('clocks', () => {
  it.each([
    ['10 minutes ahead of', 10 * MINUTE],
    ['10 minutes behind', -10 * MINUTE],
  ])('makemac %s MacService: a converged fleet with young and old leases is left alone', async (_name, skew) => {
    fleet.seedConvergedFleet();
    // Young leases of every kind of age evidence: stamped by makemac, or Go-made (age from expiry).
    const now = Date.now();
    const stampedYoung = fleet.addManagedLease(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14, 5 * MINUTE);
    fleet.addBotFor(stampedYoung);
    const goMadeYoung = fleet.world.addLease({
      leaseId: '0f0f0f0f-0000-4000-8000-000000000001',
      projectName: `makemac/${PUBLIC_HOST}`,
      image: IMAGE_15,
      createdAt: now - 5 * MINUTE,
      expiresAt: now - 5 * MINUTE + 24 * HOUR,
      metadata: [
        { key: 'golang.swarming', value: PUBLIC_HOST },
        { key: 'golang.hostname', value: 'darwin-arm64-15' },
      ],
    });
    fleet.addBotFor(goMadeYoung);
    // Booting, no bot yet: 45 minutes into its hour of grace.
    const booting = fleet.addManagedLease(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14, 45 * MINUTE);
    const document = fleet.configDocument();
    document.swarming[0]!.groups[0]!.count = 4;
    document.swarming[0]!.groups[1]!.count = 3;
    document.swarming[1]!.groups[0]!.count = 2;

    const result = await runFleetPass(fleet, { document, now: () => Date.now() + skew });

    expect(mutationsOf(fleet)).toEqual([]);
    expect(result.plan!.actions).toEqual([]);
    expect(result.plan!.deferred).toEqual([]);
    const states = Object.fromEntries(result.plan!.verdicts.map((v) => [v.leaseId, v.state]));
    expect(states[booting.leaseId]).toBe('booting');
    expect(Object.values(states).filter((s) => s === 'healthy-idle')).toHaveLength(8);
    expect(result.summary.outcome).toBe('ok');
  });
});

describe('the pass deadline', () => {
  it('reached mid-pass: actions not started are skipped with the deadline reason, and the pass fails', async () => {
    const clock = fakeClock();
    fleet.seedConvergedFleet();
    // Two creates (a deficit in darwin-arm64-15) and two renewals are planned.
    for (const lease of [...fleet.world.leases.values()].filter((l) => l.metadata.some((m) => m.value === 'darwin-arm64-15'))) {
      fleet.world.leases.delete(lease.leaseId);
    }
    const expiring = [addExpiringHealthy(PUBLIC_HOST, 'darwin-amd64-14', IMAGE_14), addExpiringHealthy(SECURITY_HOST, 'darwin-amd64-14-security', IMAGE_14)];
    const document = fleet.configDocument({ policy: { concurrency: 1 } });
    document.swarming[0]!.groups[0]!.count = 4;
    document.swarming[1]!.groups[0]!.count = 2;
    // The first create takes the rest of the pass's time.
    fleet.macService.onCreate = () => clock.advance(5 * MINUTE);

    const result = await runFleetPass(fleet, { document, now: clock.now, sleep: clock.sleep });

    expect(requestsOf(fleet, 'create')).toHaveLength(1);
    expect(requestsOf(fleet, 'renew')).toEqual([]);
    expect(result.outcomes.map((o) => [o.action.kind, o.outcome, o.skipReason])).toEqual([
      ['create', 'ok', undefined],
      ['create', 'skipped', 'deadline'],
      ['renew', 'skipped', 'deadline'],
      ['renew', 'skipped', 'deadline'],
    ]);
    for (const lease of expiring) expect(fleet.world.leases.get(lease.leaseId)!.expiresAt).toBeLessThan(Date.now() + 22 * HOUR);
    expect(result.summary).toMatchObject({ outcome: 'failed', failures: ['deadline'], actions: { ok: 1, skipped: 3 } });
    const skipped = result.entries.filter((e) => e.fields.outcome === 'skipped');
    expect(skipped).toHaveLength(3);
    for (const entry of skipped) expect(entry.severity).toBe('WARNING');
  });
});
